// The ldns surface Hush uses. bool must be defined before ldns.h or it imports as Int8;
// macros with arguments and struct fields do not import, so they are wrapped here.
#include <stdbool.h>
#include <stdlib.h>
#include <ldns/ldns.h>

static inline void hush_ldns_free(void *p) { free(p); }

// Removes the OPT pseudo-record so that ldns_pkt2wire writes the message without EDNS.
static inline void hush_ldns_pkt_strip_edns(ldns_pkt *p) {
    if (p->_edns_data) { ldns_rdf_deep_free(p->_edns_data); p->_edns_data = NULL; }
    if (p->_edns_list) { ldns_edns_option_list_deep_free(p->_edns_list); p->_edns_list = NULL; }
    p->_edns_udp_size = 0;
    p->_edns_extended_rcode = 0;
    p->_edns_version = 0;
    p->_edns_present = 0;
    p->_edns_z = 0;
}

// ldns_pkt2wire with a 1 KiB buffer that grows as needed: ldns's own starts at 64 KiB, and that malloc
// profiled as the largest single cost of forwarding a reply. The bytes are the caller's to free().
static inline ldns_status hush_ldns_pkt2wire(uint8_t **out, const ldns_pkt *p, size_t *size) {
    ldns_buffer *buffer = ldns_buffer_new(1024);
    if (!buffer) return LDNS_STATUS_MEM_ERR;
    ldns_status status = ldns_pkt2buffer_wire(buffer, p);
    if (status == LDNS_STATUS_OK) {
        *size = ldns_buffer_position(buffer);
        *out = (uint8_t *)ldns_buffer_export(buffer);
    }
    ldns_buffer_free(buffer);
    return status;
}
