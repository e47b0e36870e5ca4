import ArgumentParser

@main
struct Hush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hush",
        abstract: "A DNS resolver that silences the telemetry devices send home, and shows who tried.",
        subcommands: [Serve.self, Check.self, Lists.self, StatsCommand.self, Log.self, Suggest.self])
}
