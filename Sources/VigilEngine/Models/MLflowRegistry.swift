import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilWorkflow

/// A model registry in MLflow (its REST API under `/api/2.0/mlflow/`), where teams that serve
/// from MLflow aliases keep their models: Vigil registers versions from it and mirrors its own
/// alias decisions onto it.
public struct MLflowRegistry: Sendable {
    /// One MLflow model version, as Vigil records it in the version's `parameters.mlflow`.
    public struct Version: Sendable, Equatable {
        public let name: String
        public let version: Int
        public let source: String?
        public let runID: String?

        /// `{name, version, source, run_id}`, stored with the Vigil version.
        public var parameters: JSONValue {
            .object(["name": .string(name), "version": .number(Double(version)), "source": source.map(JSONValue.string) ?? .null,
                     "run_id": runID.map(JSONValue.string) ?? .null])
        }

        /// The MLflow version a Vigil version came from, read back from its parameters.
        public init?(parameters: [String: JSONValue]) {
            guard case let .object(mlflow)? = parameters["mlflow"], let name = mlflow["name"]?.stringValue, let version = mlflow["version"]?.intValue else { return nil }
            self.init(name: name, version: version, source: mlflow["source"]?.stringValue, runID: mlflow["run_id"]?.stringValue)
        }

        public init(name: String, version: Int, source: String?, runID: String?) {
            self.name = name
            self.version = version
            self.source = source
            self.runID = runID
        }
    }

    /// The tracking server, such as `http://127.0.0.1:5000` (`MLFLOW_TRACKING_URI`).
    public let trackingURI: String
    let client: HTTPClient

    public init(trackingURI: String, client: HTTPClient = .shared) {
        self.trackingURI = trackingURI.hasSuffix("/") ? String(trackingURI.dropLast()) : trackingURI
        self.client = client
    }

    /// The version a model URI names: `models:/NAME/VERSION` or `models:/NAME@ALIAS`.
    ///
    /// - Throws: ``MLflowError`` for another form of URI, or what MLflow answered.
    public func resolve(_ uri: String) async throws -> Version {
        guard uri.hasPrefix("models:/") else { throw MLflowError("\(uri) is not an MLflow model URI: use models:/NAME/VERSION or models:/NAME@ALIAS") }
        let path = String(uri.dropFirst("models:/".count))
        let answer: [String: JSONValue]
        if let at = path.lastIndex(of: "@") {
            answer = try await call(.GET, "registered-models/alias", query: ["name": String(path[..<at]), "alias": String(path[path.index(after: at)...])])
        } else if let slash = path.lastIndex(of: "/"), Int(path[path.index(after: slash)...]) != nil {
            answer = try await call(.GET, "model-versions/get", query: ["name": String(path[..<slash]), "version": String(path[path.index(after: slash)...])])
        } else {
            throw MLflowError("\(uri) names no version: use models:/NAME/VERSION or models:/NAME@ALIAS")
        }
        guard case let .object(found)? = answer["model_version"], let name = found["name"]?.stringValue,
              let version = found["version"]?.stringValue.flatMap(Int.init) ?? found["version"]?.intValue
        else { throw MLflowError("MLflow's answer for \(uri) has no model_version") }
        return Version(name: name, version: version, source: found["source"]?.stringValue, runID: found["run_id"]?.stringValue)
    }

    /// The aliases a registered model has, each with its version.
    public func aliases(of name: String) async throws -> [String: Int] {
        let answer = try await call(.GET, "registered-models/get", query: ["name": name])
        guard case let .object(model)? = answer["registered_model"] else { return [:] }
        var aliases: [String: Int] = [:]
        if case let .array(items)? = model["aliases"] {
            for case let .object(item) in items {
                if let alias = item["alias"]?.stringValue, let version = item["version"]?.stringValue.flatMap(Int.init) ?? item["version"]?.intValue {
                    aliases[alias] = version
                }
            }
        }
        return aliases
    }

    public func setAlias(_ alias: String, of name: String, to version: Int) async throws {
        _ = try await call(.POST, "registered-models/alias", body: ["name": .string(name), "alias": .string(alias), "version": .string(String(version))])
    }

    public func deleteAlias(_ alias: String, of name: String) async throws {
        // MLflow's servers read a DELETE's fields from the query string or the body, by version: send both.
        _ = try await call(.DELETE, "registered-models/alias", query: ["name": name, "alias": alias], body: ["name": .string(name), "alias": .string(alias)])
    }

    private func call(_ method: HTTPMethod, _ endpoint: String, query: [String: String] = [:], body: [String: JSONValue]? = nil) async throws -> [String: JSONValue] {
        var components = URLComponents(string: "\(trackingURI)/api/2.0/mlflow/\(endpoint)")
        if !query.isEmpty { components?.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        guard let url = components?.string else { throw MLflowError("\(trackingURI) is not a URL") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "vigil")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(body))))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(30))
            bytes = try await response.body.collect(upTo: 4 << 20)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw MLflowError("MLflow at \(trackingURI) could not be reached (\(method.rawValue) \(endpoint)): \(AlertNotifier.describe(error))")
        }
        let answer = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: bytes))) ?? [:]
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = answer["message"]?.stringValue ?? String(buffer: bytes).prefix(200).description
            throw MLflowError("MLflow answered \(response.status.code) to \(method.rawValue) \(endpoint): \(message)")
        }
        return answer
    }
}

/// What MLflow refused, or why it could not be asked.
public struct MLflowError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
