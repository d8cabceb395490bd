// swift-tools-version:6.0
import PackageDescription

// Strict settings for every Swift target (Swift 6 language mode is the default for tools 6.0).
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]
/// The targets on the path of every Lua field read and store action. Release
/// builds leave out the run-time exclusivity checks of class properties: they
/// were 13% of a host-object field read (begin/end access and the thread's
/// access set). Debug builds, which the tests run, keep them.
let hotPathSwift = strictSwift + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "jobrules",
    products: [
        .executable(name: "jobrules", targets: ["jobrules"]),
        .library(name: "LuaHost", targets: ["LuaHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Debian's liblua5.4-dev, found through pkg-config.
        .systemLibrary(
            name: "CLua",
            path: "Sources/CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // Debian's libreadline-dev (headers in /usr/include; its pkg-config flags are ones SwiftPM refuses): line editing, history and completion for the REPL.
        .systemLibrary(
            name: "CReadline",
            path: "Sources/CReadline",
            providers: [.apt(["libreadline-dev"])]
        ),
        // What Swift cannot import or must not do: macro twins, the error
        // trampoline, the limit hooks, the allocator and the sandbox helpers.
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"],
            path: "Sources/CLuaShim"
        ),
        // The Lua VM for Swift: ownership, protected calls, values, host
        // objects, sandbox, limits. Knows nothing of jobs.
        .target(
            name: "LuaHost",
            dependencies: ["CLua", "CLuaShim"],
            swiftSettings: hotPathSwift
        ),
        // What Swift must not do itself, or cannot reach: the bus-error guard of a mapped store file, sync_file_range.
        .target(
            name: "CSystem",
            path: "Sources/CSystem"
        ),
        // The marketplace domain: jobs, their lifecycle, members, orders. Knows nothing of Lua.
        .target(
            name: "Marketplace",
            dependencies: ["CSystem"],
            swiftSettings: hotPathSwift
        ),
        // The Lua API of the marketplace, rules and their runner.
        .target(
            name: "RuleEngine",
            dependencies: ["LuaHost", "Marketplace"],
            swiftSettings: hotPathSwift
        ),
        // The interactive REPL: line editing, completion, value printing, staged changes.
        .target(
            name: "REPL",
            dependencies: ["CLua", "CLuaShim", "CReadline", "LuaHost", "Marketplace", "RuleEngine"],
            resources: [.embedInCode("jobrules.lua")],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "jobrules",
            dependencies: [
                "LuaHost",
                "Marketplace",
                "RuleEngine",
                "REPL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The shipped rules (rules/, through a link), for `jobrules init` to write out.
            resources: [
                .embedInCode("Shipped/rules/01-decline-mismatched.lua"),
                .embedInCode("Shipped/rules/02-assign-by-service.lua"),
                .embedInCode("Shipped/rules/03-escalate-near-expiry.lua"),
                .embedInCode("Shipped/rules/04-chase-late-orders.lua"),
            ],
            swiftSettings: strictSwift
        ),
        // Micro-benchmarks and the leak probe (not shipped).
        .executableTarget(
            name: "jobrules-bench",
            dependencies: ["LuaHost", "Marketplace", "RuleEngine"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "LuaHostTests",
            dependencies: ["LuaHost", "CLuaShim"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "MarketplaceTests",
            dependencies: ["Marketplace"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "RuleEngineTests",
            dependencies: ["RuleEngine", "LuaHost", "Marketplace"],
            swiftSettings: strictSwift
        ),
        // Test support: programs started on a pseudo-terminal (forkpty).
        .target(
            name: "CPTY",
            path: "Tests/CPTY",
            linkerSettings: [.linkedLibrary("util")]
        ),
        .testTarget(
            name: "REPLTests",
            dependencies: ["REPL", "RuleEngine", "LuaHost", "Marketplace"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "jobrulesTests",
            dependencies: ["jobrules", "Marketplace", "CPTY"],
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
