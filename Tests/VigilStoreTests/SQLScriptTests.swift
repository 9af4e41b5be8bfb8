import Testing
import VigilStore

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test("splits on semicolons outside quotes, comments and dollar bodies")
    func splitting() {
        let script = SQLScript("""
            -- leading comment; not a statement
            CREATE TABLE a (note text DEFAULT 'x;y');
            /* block; /* nested; */ still comment */
            CREATE FUNCTION f() RETURNS trigger AS $body$
            BEGIN RAISE EXCEPTION 'no; never'; END;
            $body$ LANGUAGE plpgsql;
            SELECT "odd;name", E'it\\'s;', $1::int FROM a;
            """)
        #expect(script.statements.count == 3)
        #expect(script.statements[0].sql == "CREATE TABLE a (note text DEFAULT 'x;y')")
        #expect(script.statements[0].line == 2)
        #expect(script.statements[1].sql.hasPrefix("CREATE FUNCTION"))
        #expect(script.statements[1].sql.hasSuffix("LANGUAGE plpgsql"))
        #expect(script.statements[2].line == 7)
    }

    @Test("comment-only and empty scripts have no statements")
    func empty() {
        #expect(SQLScript("").statements.isEmpty)
        #expect(SQLScript("-- nothing\n/* here */\n;;").statements.isEmpty)
    }
}
