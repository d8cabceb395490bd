/// The sizes jobrules accepts, the same wherever a value comes from: the
/// store file, a feed of events, or a script through the Lua API.
public enum Limits {
    /// Free text: a job's title and details, a message's body, a note, an
    /// email's body, a decline's reason.
    public static let textBytes = 1 << 20
    /// An id (job, order, merchant, member, contact, message, email, event)
    /// and other one-line names: service ids, tags, names, emails, subjects.
    public static let idBytes = 256
    /// A tag: one word.
    public static let tagBytes = 64
    /// Tags on one job.
    public static let tagsPerObject = 100
    /// Counts and revisions: integers a JSON number carries exactly
    /// everywhere (2^53 - 1), far from where adding one overflows.
    public static let count: Int64 = (1 << 53) - 1
    /// Emails one call into Lua may add with `notify` (a rule on one item, a
    /// script, a REPL statement): a loop that sends more is a runaway.
    public static let notifiesPerCall = 10_000
}
