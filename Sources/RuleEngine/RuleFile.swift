import Foundation
import Marketplace

/// A rule file, read.
public struct RuleFile: Sendable {
    public let path: String
    public let source: [UInt8]

    /// The `.lua` files of `paths`: a directory gives its own `.lua` files in
    /// name order (byte order); a file is taken as it is.
    public static func resolve(_ paths: [String]) throws(RuleProblem) -> [RuleFile] {
        var files: [RuleFile] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw RuleProblem(position: nil, message: "no rule file or directory '\(path)'")
            }
            var names: [String]
            if isDirectory.boolValue {
                do {
                    names = try manager.contentsOfDirectory(atPath: path)
                } catch {
                    throw RuleProblem(position: nil, message: "cannot list '\(path)': \(fileErrorReason(error))")
                }
                names = names.filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }
                    .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                    .map { (path.hasSuffix("/") ? path : path + "/") + $0 }
            } else {
                names = [path]
            }
            for name in names {
                // In a directory, only regular files: a FIFO named like a
                // rule would hold every batch up, waiting for a writer.
                if isDirectory.boolValue, let kind = InputFile.kind(of: name) {
                    throw RuleProblem(position: nil, message: "'\(name)' is \(kind), not a rule file")
                }
                do {
                    files.append(RuleFile(path: name, source: try InputFile.read(name, limit: Limits.scriptBytes)))
                } catch {
                    throw RuleProblem(position: nil, message: error.description)
                }
            }
        }
        return files
    }
}

/// The system's reason for a failed file operation (`No such file or directory`).
public func fileErrorReason(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
        let code = POSIXErrorCode(rawValue: Int32(underlying.code))
    {
        return String(cString: strerror(code.rawValue))
    }
    if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError {
        return "No such file or directory"
    }
    return nsError.localizedDescription
}
