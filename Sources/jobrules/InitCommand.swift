import ArgumentParser
import Marketplace

/// `jobrules init`: writes the sample store.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a small sample store to explore (never overwrites one).",
        discussion: """
            Thirty jobs over every status and source, six members, two dropshipper merchants, \
            orders in every status (one late) and two prospective contacts. Times are relative \
            to --now, so some jobs are about to expire and some are past it.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        let file = storeOptions.file
        do {
            try file.create(Store.sample(now: storeOptions.clock))
        } catch {
            throw error.asUsageError
        }
        print("wrote the sample store to \(file.path): try `jobrules run --store \(file.path) --dry-run`")
    }
}
