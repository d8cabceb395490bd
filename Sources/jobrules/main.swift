runJobRules(Array(CommandLine.arguments.dropFirst()))
