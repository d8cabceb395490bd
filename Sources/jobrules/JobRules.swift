import ArgumentParser

/// The root command: lists the subcommands.
struct JobRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobrules",
        abstract: "Rules in Lua for a service agency's marketplace jobs and sales orders.",
        version: "0.1.0",
        subcommands: [RunCommand.self, ImportCommand.self, ReplCommand.self, ExecCommand.self, CheckCommand.self, InitCommand.self]
    )
}
