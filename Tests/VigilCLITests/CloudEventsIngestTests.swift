import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VigilStore
import VigilTesting

@Suite("KServe CloudEvents ingest", .timeLimit(.minutes(3)))
struct CloudEventsIngestTests {
    /// Posts one binary-mode CloudEvent: attributes in `ce-` headers, the model server's body as the body.
    static func post(_ base: String, _ path: String, token: String, id: String, type: String, body: String, time: String? = nil) async throws -> (status: Int, json: [String: Any]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in [("ce-specversion", "1.0"), ("ce-id", id), ("ce-type", type), ("ce-source", "http://localhost:9081/"),
                              ("ce-inferenceservicename", "churn"), ("ce-namespace", "models"), ("ce-component", "predictor")] {
            request.headers.add(name: name, value: value)
        }
        if let time { request.headers.add(name: "ce-time", value: time) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:])
    }

    @Test("a KServe request/response pair (binary mode, Open Inference Protocol bodies) becomes one inference row; posting it again adds nothing; a structured-mode V1 pair and a batch map too; a bad half is refused naming the field")
    func pairs() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ce-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                name: churn-watch
                model: churn
                data:
                  features: { tenure_months: { type: number, min: 0 }, plan: category, monthly_charges: number }
                  payload: { inputs: [tenure_months, plan, monthly_charges], prediction: predict, score: predict_proba, score_index: 1 }
                steps:
                  wait: { uses: sleep, with: { for: 1s } }
                """.write(to: folder.appendingPathComponent("watch.yaml"), atomically: true, encoding: .utf8)
            let applied = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
            #expect(applied.status == 0, "\(applied.standardError)")
            let token = try await TokenStore(database: database).create(principal: "kserve", roles: [.ingest], sensitiveModels: [], actor: "t", now: Date()).token
            let (base, server) = try await startServe(url: url, environment: environment, maxBody: 1 << 20)
            defer { kill(server.processIdentifier, SIGTERM) }
            let path = "/api/v1/models/churn/cloudevents"
            func rows() async throws -> [(String, String, String, Double?)] {
                let result = try await database.client.query("""
                    SELECT request_id, features::text, prediction, score FROM inference_log WHERE model = 'churn' ORDER BY request_id
                    """, logger: database.logger)
                var rows: [(String, String, String, Double?)] = []
                for try await row in result.decode((String, String, String, Double?).self) { rows.append(row) }
                return rows
            }

            let request = #"{"id": "r1", "inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "BYTES", "data": [[12, "pro", 70.5]]}]}"#
            let response = #"{"model_name": "churn", "id": "r1", "outputs": [{"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]}, {"name": "predict_proba", "shape": [1, 2], "datatype": "FP64", "data": [[0.2, 0.8]]}]}"#
            let first = try await Self.post(base, path, token: token, id: "evt-1", type: "org.kubeflow.serving.inference.request", body: request, time: "2026-11-24T06:00:00Z")
            #expect(first.status == 202 && first.json["status"] as? String == "waiting", "\(first.json)")
            #expect(try await rows().isEmpty)
            let second = try await Self.post(base, path, token: token, id: "evt-1", type: "org.kubeflow.serving.inference.response", body: response)
            #expect(second.status == 201 && second.json["rows_loaded"] as? Int == 1, "\(second.json)")
            let logged = try await rows()
            #expect(logged.count == 1 && logged.first?.0 == "evt-1" && logged.first?.2 == "1" && logged.first?.3 == 0.8, "\(logged)")
            let features = (try? JSONSerialization.jsonObject(with: Data((logged.first?.1 ?? "").utf8))) as? [String: Any] ?? [:]
            #expect(features["tenure_months"] as? Double == 12 && features["plan"] as? String == "pro" && features["monthly_charges"] as? Double == 70.5, "\(features)")
            var stamped: [Date] = []
            for try await ts in try await database.client.query("SELECT ts FROM inference_log WHERE request_id = 'evt-1'", logger: database.logger).decode(Date.self) {
                stamped.append(ts)
            }
            #expect(stamped == [Date(timeIntervalSince1970: 1_795_500_000)], "the event's time: \(stamped)")

            // The same pair again, as sent before: the request waits, the response completes it, and nothing is added.
            #expect(try await Self.post(base, path, token: token, id: "evt-1", type: "org.kubeflow.serving.inference.request", body: request,
                                        time: "2026-11-24T06:00:00Z").status == 202)
            let again = try await Self.post(base, path, token: token, id: "evt-1", type: "org.kubeflow.serving.inference.response", body: response)
            #expect(again.status == 201 && again.json["rows_loaded"] as? Int == 0 && again.json["already_present"] as? Int == 1, "\(again.json)")
            #expect(try await rows().count == 1)

            // Structured mode, KServe V1 bodies, a batch of two, response first.
            let api = APIClient(base: base)
            func structured(_ type: String, _ data: String) -> String {
                #"{"specversion": "1.0", "id": "evt-2", "type": "org.kubeflow.serving.inference.\#(type)", "source": "http://localhost:9081/", "time": "2026-11-24T07:00:00Z", "datacontenttype": "application/json", "data": \#(data)}"#
            }
            let v1Response = try await api.call("POST", path, token: token, body: structured("response", #"{"predictions": [[0.9, 0.1], [0.3, 0.7]]}"#), contentType: "application/cloudevents+json")
            #expect(v1Response.status == 202, "\(v1Response.json)")
            let v1Request = try await api.call("POST", path, token: token, body: structured("request", #"{"instances": [[3, "basic", 20], [40, "pro", 90]]}"#), contentType: "application/cloudevents+json")
            #expect(v1Request.status == 201 && v1Request.json["rows_loaded"] as? Int == 2, "\(v1Request.json)")
            let all = try await rows()
            #expect(all.map(\.0) == ["evt-1", "evt-2-0", "evt-2-1"] && all.map(\.2) == ["1", "0", "1"] && all.map(\.3) == [0.8, 0.1, 0.7], "\(all)")

            // A bad half is refused at once, naming what is wrong; a wrong attribute too.
            let badShape = try await Self.post(base, path, token: token, id: "evt-3", type: "org.kubeflow.serving.inference.request",
                                               body: #"{"inputs": [{"name": "input-0", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}"#)
            let message = { (json: [String: Any]) in (json["error"] as? [String: Any])?["message"] as? String ?? "" }
            #expect(badShape.status == 400 && message(badShape.json).contains("inputs[0].shape: has 2 columns but the mapping names 3 inputs"), "\(badShape.json)")
            let badType = try await Self.post(base, path, token: token, id: "evt-3", type: "com.example.other", body: request)
            #expect(badType.status == 400 && message(badType.json).contains("neither a request nor a response"))
            let noID = try await api.call("POST", path, token: token, body: #"{"specversion": "1.0", "type": "x.request", "source": "s", "data": {}}"#, contentType: "application/cloudevents+json")
            #expect(noID.status == 400 && message(noID.json).contains("'id' is required"), "\(noID.json)")
            let badOutput = try await Self.post(base, path, token: token, id: "evt-4", type: "org.kubeflow.serving.inference.response",
                                                body: #"{"outputs": [{"name": "other", "shape": [1], "datatype": "INT64", "data": [1]}]}"#)
            #expect(badOutput.status == 400 && message(badOutput.json).contains("has no output named 'predict'"), "\(badOutput.json)")
            let nul = try await Self.post(base, path, token: token, id: "evt-5", type: "org.kubeflow.serving.inference.request", body: #"{"instances": [{"a\u0000b": 1}]}"#)
            #expect(nul.status == 400 && message(nul.json).contains("NUL"), "\(nul.json)")
            let nullPrediction = try await Self.post(base, path, token: token, id: "evt-6", type: "org.kubeflow.serving.inference.response", body: #"{"predictions": [null]}"#)
            #expect(nullPrediction.status == 400 && message(nullPrediction.json).contains("predictions[0]: is null"), "\(nullPrediction.json)")
            #expect(try await rows().count == 3)
        }
    }
}
