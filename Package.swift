// swift-tools-version:6.0
import PackageDescription

/// One set of language rules for every target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["VigilCLI"]),
        .library(name: "VigilStatistics", targets: ["VigilStatistics"]),
        .library(name: "VigilWorkflow", targets: ["VigilWorkflow"]),
        .library(name: "VigilStore", targets: ["VigilStore"]),
        .library(name: "VigilEngine", targets: ["VigilEngine"]),
        .library(name: "VigilServer", targets: ["VigilServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Layer 1: numbers only. No I/O, no dependencies.
        .target(
            name: "VigilStatistics",
            swiftSettings: swiftSettings
        ),
        // Layer 2: the workflow file format.
        .target(
            name: "VigilWorkflow",
            dependencies: [
                "VigilStatistics",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 3: PostgreSQL, the system of record.
        .target(
            name: "VigilStore",
            dependencies: [
                "VigilWorkflow",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedMigrations"]
        ),
        // Layer 4: the run and step state machine, workers, built-in steps.
        .target(
            name: "VigilEngine",
            dependencies: [
                "VigilStore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 5: the HTTP API.
        .target(
            name: "VigilServer",
            dependencies: [
                "VigilEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedOpenAPI"]
        ),
        // Layer 5: the command line.
        .executableTarget(
            name: "VigilCLI",
            dependencies: [
                "VigilServer",
                "VigilEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Build-time: turns migrations/*.sql into Swift source, so the binary carries its schema.
        .executableTarget(
            name: "MigrationEmbedder",
            path: "Plugins/MigrationEmbedder",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        .plugin(
            name: "EmbedOpenAPI",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),

        .testTarget(
            name: "VigilStatisticsTests",
            dependencies: ["VigilStatistics", "VigilTesting"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilWorkflowTests",
            dependencies: ["VigilWorkflow"],
            exclude: ["Broken"],
            swiftSettings: swiftSettings
        ),
        // Test support: a real PostgreSQL per test process, a fresh database per test.
        .target(
            name: "VigilTesting",
            dependencies: ["VigilStore"],
            exclude: ["receiver.py", "smtp_receiver.py", "read_parquet.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilStoreTests",
            dependencies: ["VigilStore", "VigilWorkflow", "VigilStatistics", "VigilTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilEngineTests",
            dependencies: [
                "VigilEngine", "VigilTesting",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilCLITests",
            dependencies: ["VigilEngine", "VigilStore", "VigilTesting", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            exclude: ["schemathesis.toml", "Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
