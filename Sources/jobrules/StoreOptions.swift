import ArgumentParser
import Foundation
import Marketplace

/// `--store` and `--now`, shared by every command that works on a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: ArgumentHelp("The store file (default: $JOBRULES_STORE, else store.json).", valueName: "FILE"))
    var storeOption: String?

    /// `--store`, or else `JOBRULES_STORE`, or else `store.json`.
    var store: String {
        if let storeOption { return storeOption }
        if let value = ProcessInfo.processInfo.environment["JOBRULES_STORE"], !value.isEmpty { return value }
        return "store.json"
    }

    @Option(help: ArgumentHelp("The run's clock, RFC 3339 (default: $JOBRULES_NOW, else the real clock).", valueName: "TIME"))
    var now: String?

    @Option(
        name: .customLong("lock-timeout"),
        help: ArgumentHelp("How long to wait for another process holding the store's lock: seconds, or with a unit (500ms, 2m).", valueName: "TIME"))
    var lockTimeoutText: String = "30"

    func validate() throws {
        if let (now, source) = givenNow, RFC3339.parse(now) == nil {
            throw ValidationError(
                RFC3339.parseUnbounded(now) != nil
                    ? "\(source): '\(now)' is out of range (\(RFC3339.rangeDescription))"
                    : "\(source): not an RFC 3339 time: '\(now)' (expected like 2026-11-21T09:30:00Z)")
        }
        guard LimitOptions.parseDuration(lockTimeoutText) != nil else {
            throw ValidationError("invalid --lock-timeout '\(lockTimeoutText)': expected seconds or a number with ms, s, m or h")
        }
    }

    /// `--lock-timeout` in seconds.
    var lockTimeout: Double {
        guard let d = LimitOptions.parseDuration(lockTimeoutText) else { return 30 }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The run's clock: `--now`, or the real one (read once per run).
    var clock: UnixTime { fixedClock ?? UnixTime(Date().timeIntervalSince1970) }

    /// `--now`, when given, or else `JOBRULES_NOW` (a whole session, a
    /// demo or a test at one clock); with where it came from.
    var givenNow: (String, source: String)? {
        if let now { return (now, "--now") }
        if let value = ProcessInfo.processInfo.environment["JOBRULES_NOW"], !value.isEmpty { return (value, "JOBRULES_NOW") }
        return nil
    }

    /// The clock given (`givenNow`), if any.
    var fixedClock: UnixTime? { givenNow.flatMap { RFC3339.parse($0.0) } }

    /// Mapped: every command using these options loads, runs and exits.
    var file: JSONStoreFile { JSONStoreFile(path: store, holding: .map) }
}

extension StoreError {
    /// Every store error leaves the store untouched: nothing was written.
    var asUsageError: UsageError { UsageError(description) }
}
