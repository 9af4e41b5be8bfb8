import Foundation
import Hummingbird
import NIOCore
import VigilStore
import VigilWorkflow

/// The auditor's web view under `/ui`: server-rendered pages, readable without JavaScript, behind
/// the same tokens as the API (a `vigil_token` cookie set by the sign-in form, or a bearer header).
///
/// - `/ui/runs` run history with filters; `/ui/runs/{id}` one run's timeline (steps, attempts,
///   events, who approved);
/// - `/ui/models` and `/ui/models/{model}`: changelog, lineage of the champion, drift per feature and
///   performance over time as SVG charts, with alerts and promotions marked;
///   `/ui/models/{model}/report`: the model's ``ReportPage`` over its whole history;
/// - `/ui/alerts`: open alerts; `/ui/approvals`: steps waiting for approval, with who may decide
///   and when each times out.
struct WebPages {
    let server: APIServer

    /// The paths served, for 405 answers.
    static let paths: [String: [HTTPRequest.Method]] = [
        "/ui/login": [.get, .post], "/ui/logout": [.get], "/ui/runs": [.get], "/ui/runs/{id}": [.get], "/ui/alerts": [.get], "/ui/approvals": [.get],
        "/ui/models": [.get], "/ui/models/{model}": [.get], "/ui/models/{model}/report": [.get],
    ]

    func install(on router: Router<BasicRequestContext>) {
        router.get("/ui/login") { request, _ in
            // A sign-in link (`/ui/login?token=…&next=/ui/runs/4`) for tools such as a headless browser; people use the form.
            if let token = request.uri.queryParameters.get("token") {
                return await signIn(token: token, next: request.uri.queryParameters.get("next").map { String($0) })
            }
            return Self.html(.ok, HTML.page(title: "Sign in", principal: nil, body: Self.loginForm(next: request.uri.queryParameters.get("next").map { String($0) })))
        }
        router.post("/ui/login") { request, _ in
            let body = (try? await request.body.collect(upTo: 16_384)).map { String(buffer: $0) } ?? ""
            var form: [String: String] = [:]
            for item in URLComponents(string: "?" + body.replacingOccurrences(of: "+", with: " "))?.queryItems ?? [] { form[item.name] = item.value ?? "" }
            return await signIn(token: form["token"] ?? "", next: form["next"])
        }
        router.get("/ui/logout") { _, _ in
            var response = Self.redirect(to: "/ui/login")
            response.headers[.setCookie] = "vigil_token=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict"
            return response
        }
        page("/ui/runs") { request, context, principal in try await runs(request, principal) }
        page("/ui/runs/{id}") { _, context, principal in try await run(context, principal) }
        page("/ui/alerts") { _, _, principal in try await alerts(principal) }
        page("/ui/alerts/{id}") { _, context, principal in try await alert(context, principal) }
        page("/ui/approvals") { _, _, principal in try await approvals(principal) }
        page("/ui/models") { _, _, principal in try await models(principal) }
        page("/ui/models/{model}") { _, context, principal in try await model(context, principal) }
        page("/ui/models/{model}/report") { _, context, principal in try await report(context, principal) }

        func page(_ path: String, _ render: @escaping @Sendable (Request, BasicRequestContext, Principal) async throws -> String) {
            router.get(RouterPath(path)) { request, context in
                guard let principal = await principal(of: request) else {
                    return Self.html(.unauthorized, HTML.page(title: "Sign in", principal: nil, body: Self.loginForm(next: request.uri.path)))
                }
                guard principal.has(.viewer) else {
                    return Self.html(.forbidden, HTML.page(title: "403 Forbidden", principal: principal.name,
                                                          body: "<p>\(HTML.escape(principal.name)) may only log data (role ingest); the web view needs the viewer role.</p>"))
                }
                do {
                    return Self.html(.ok, try await render(request, context, principal))
                } catch {
                    let problem = APIError.from(error)
                    return Self.html(problem.status, HTML.page(title: "\(problem.status.code) \(problem.status.reasonPhrase)", principal: principal.name,
                                                              body: "<p>\(HTML.escape(problem.message))</p>"))
                }
            }
        }
    }

    private func principal(of request: Request) async -> Principal? {
        var token = APIServer.bearerToken(of: request)
        if token == nil, let cookies = request.headers[.cookie] {
            for part in cookies.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("vigil_token=") { token = String(pair.dropFirst("vigil_token=".count)) }
            }
        }
        guard let token else { return nil }
        return try? await TokenStore(database: server.database).authenticate(token, now: server.clock.now())
    }

    private func signIn(token: String, next: String?) async -> Response {
        guard (try? await TokenStore(database: server.database).authenticate(token, now: server.clock.now())) ?? nil != nil else {
            return Self.html(.unauthorized, HTML.page(title: "Sign in", principal: nil,
                                                      body: "<p>That token is unknown, revoked or expired.</p>" + Self.loginForm(next: next)))
        }
        // Only paths of this view: never an address elsewhere.
        let target = next.flatMap { $0.hasPrefix("/ui/") && !$0.hasPrefix("//") ? $0 : nil } ?? "/ui/runs"
        var response = Self.redirect(to: target)
        response.headers[.setCookie] = "vigil_token=\(token); Path=/ui; HttpOnly; SameSite=Strict"
        return response
    }

    static func loginForm(next: String?) -> String {
        """
        <form method="post" action="/ui/login"><p><label>API token (<code>vigil tokens create --role viewer</code>)<br>
        <input name="token" type="password" size="60" autocomplete="off"></label></p>
        <input type="hidden" name="next" value="\(HTML.escape(next ?? "/ui/runs"))"><p><button type="submit">Sign in</button></p></form>
        """
    }

    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path])
    }
}
