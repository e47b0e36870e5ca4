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
