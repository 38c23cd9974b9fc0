using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Platform.OfflineStore.Sqlite;

namespace Platform.MarketData.Tests;

/// <summary>
/// Generated malformed requests against every market-data route, sent through Kestrel as a hostile client would: no
/// answer may be a 5xx, every 4xx must be a problem-details body, and a refused request must leave the stored bars as
/// they were (counted in the file, not through the API).
/// </summary>
public sealed class BadInputSuite : IAsyncLifetime
{
    private const string Header = "Date,Open,High,Low,Close,Adj Close,Volume";
    private const string Valid = Header + "\n2024-01-02,10,11,9,10.5,10.5,1000\n2024-01-03,10.5,11,10,10.8,10.8,900\n";
    private ServiceApp _app = null!;

    public async Task InitializeAsync()
    {
        _app = await ServiceApp.StartAsync();
        var seeded = await _app.Http.PostAsync("/v1/market/imports", Json(JsonSerializer.Serialize(new { symbol = "SEED", content = Valid })));
        Assert.Equal(System.Net.HttpStatusCode.Created, seeded.StatusCode);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private sealed record Case(string Name, HttpMethod Method, string Url, Func<HttpContent?> Body)
    {
        // Control characters escaped, so a failure report stays readable text.
        public string Shown => string.Concat(Name.Select(ch => char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString()));
    }

    private static HttpContent Json(string text) => new StringContent(text, Encoding.UTF8, "application/json");

    private static HttpContent Bytes(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    /// <summary>Fields of the import body with values of every wrong kind.</summary>
    private static readonly string[] ImportFields =
        ["symbol", "content", "path", "interval", "skipInvalid", "overwrite", "columns", "delimiter", "decimalSeparator", "timeZone", "dateFormat", "timeFormat"];

    private static readonly string[] WrongValues =
        ["1e999999", "-1e999999", "123", "true", "null", "[]", "{}", "\"\"", "\"\\u0000\"", "\"%\"", "\"../../etc/passwd\"", "[[[[[[[[[[]]]]]]]]]]", "\"" + new string('x', 5000) + "\""];

    private static IEnumerable<Case> Cases()
    {
        var baseBody = JsonSerializer.Serialize(new { symbol = "SEED", content = Valid, overwrite = true });

        // Every prefix of a valid body: broken JSON of every length.
        for (var n = 0; n < baseBody.Length; n += 3)
        {
            var prefix = baseBody[..n];
            yield return new("truncated import " + n, HttpMethod.Post, "/v1/market/imports", () => Json(prefix));
        }

        // Each field with each wrong value; symbol stays otherwise valid so the field is what is judged.
        foreach (var field in ImportFields)
            foreach (var value in WrongValues)
            {
                var body = field == "symbol"
                    ? $"{{\"symbol\":{value},\"content\":{JsonSerializer.Serialize(Valid)},\"interval\":\"1h\"}}"
                    : $"{{\"symbol\":\"SEED\",\"content\":{JsonSerializer.Serialize(Valid)},\"interval\":\"1h\",\"{field}\":{value}}}";
                yield return new($"import {field}={value[..Math.Min(value.Length, 20)]}", HttpMethod.Post, "/v1/market/imports", () => Json(body));
            }

        foreach (var symbol in new[] { "../etc", "a/b", "A\nB", "A\u0000B", new string('A', 10_000), " ", "Ä", "A B", "-A", ".", ".." })
        {
            var body = JsonSerializer.Serialize(new { symbol, content = Valid, interval = "1h" });
            yield return new("import symbol " + symbol[..Math.Min(symbol.Length, 10)], HttpMethod.Post, "/v1/market/imports", () => Json(body));
        }

        foreach (var depth in new[] { 65, 200, 5000 })
        {
            var nested = new string('[', depth) + new string(']', depth);
            yield return new($"nesting {depth}", HttpMethod.Post, "/v1/market/imports", () => Json($"{{\"symbol\":\"SEED\",\"content\":{nested}}}"));
            yield return new($"nesting top {depth}", HttpMethod.Post, "/v1/market/imports", () => Json(nested));
        }

        var invalidUtf8 = new byte[][] { [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF] };
        foreach (var bad in invalidUtf8)
        {
            var bytes = Encoding.UTF8.GetBytes("{\"symbol\":\"SE").Concat(bad).Concat(Encoding.UTF8.GetBytes("ED\",\"content\":\"x\"}")).ToArray();
            yield return new($"invalid utf-8 {Convert.ToHexString(bad)}", HttpMethod.Post, "/v1/market/imports", () => Bytes(bytes, "application/json"));
            var inContent = Encoding.UTF8.GetBytes("{\"symbol\":\"SEED\",\"content\":\"Date").Concat(bad).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray();
            yield return new($"invalid utf-8 in content {Convert.ToHexString(bad)}", HttpMethod.Post, "/v1/market/imports", () => Bytes(inContent, "application/json"));
        }

        foreach (var type in new[] { "text/plain", "application/xml", "text/csv", "application/octet-stream", "multipart/form-data",
                     "multipart/form-data; boundary=wrong", "multipart/mixed; boundary=x", "application/x-www-form-urlencoded", "application/json; charset=utf-16",
                     "image/png", "*/*", "application/", "garbage" })
        {
            yield return new($"content-type {type}", HttpMethod.Post, "/v1/market/imports", () => Bytes(Encoding.UTF8.GetBytes(baseBody), type));
        }
        yield return new("no content-type", HttpMethod.Post, "/v1/market/imports", () => Bytes(Encoding.UTF8.GetBytes(baseBody), null));
        yield return new("empty body", HttpMethod.Post, "/v1/market/imports", () => Bytes([], "application/json"));

        var form = "--b\r\nContent-Disposition: form-data; name=\"symbol\"\r\n\r\nSEED\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\n\r\n"
            + Valid + "\r\n--b--\r\n";
        foreach (var (name, text, type) in new[]
                 {
                     ("multipart no file", "--b\r\nContent-Disposition: form-data; name=\"symbol\"\r\n\r\nSEED\r\n--b--\r\n", "multipart/form-data; boundary=b"),
                     ("multipart wrong boundary", form, "multipart/form-data; boundary=c"),
                     ("multipart unterminated", form[..(form.Length / 2)], "multipart/form-data; boundary=b"),
                     ("multipart bad symbol", form.Replace("\r\n\r\nSEED\r\n", "\r\n\r\n../etc\r\n"), "multipart/form-data; boundary=b"),
                     ("multipart bad bool", form.Replace("name=\"symbol\"\r\n\r\nSEED", "name=\"skipInvalid\"\r\n\r\nmaybe\r\n--b\r\nContent-Disposition: form-data; name=\"symbol\"\r\n\r\nSEED"), "multipart/form-data; boundary=b"),
                     ("multipart date format", form.Replace("name=\"symbol\"\r\n\r\nSEED", "name=\"dateFormat\"\r\n\r\n%\r\n--b\r\nContent-Disposition: form-data; name=\"symbol\"\r\n\r\nSEED"), "multipart/form-data; boundary=b"),
                     ("multipart garbage", "not multipart at all", "multipart/form-data; boundary=b"),
                 })
        {
            yield return new(name, HttpMethod.Post, "/v1/market/imports", () => Bytes(Encoding.UTF8.GetBytes(text), type));
        }

        foreach (var (field, value) in new[]
                 {
                     ("dateFormat", "%"), ("dateFormat", "\""), ("dateFormat", "'"), ("dateFormat", "\\"), ("timeFormat", "%"), ("timeFormat", "'"),
                     ("delimiter", "\""), ("delimiter", "\0"), ("delimiter", "\n"), ("delimiter", "ab"), ("decimalSeparator", ","), ("decimalSeparator", "\0"),
                     ("columns", "date,date,date"), ("columns", "foo"), ("columns", ""), ("columns", ",,,,"), ("timeZone", "Mars/Olympus"), ("timeZone", "\0"),
                     ("timeZone", "../../etc/localtime"), ("interval", "0d"), ("interval", "99999999999d"), ("interval", "1w"), ("interval", "-1m"),
                     ("path", "/etc/shadow"), ("path", "/etc/passwd"), ("path", "\0"), ("path", "/tmp/\0x"), ("path", "../../../../etc/passwd"), ("path", "/proc/self/environ"),
                     ("path", "/"), ("path", "."), ("path", new string('a', 5000)),
                 })
        {
            var body = field == "path"
                ? JsonSerializer.Serialize(new Dictionary<string, string> { ["symbol"] = "SEED", [field] = value })
                : JsonSerializer.Serialize(new Dictionary<string, object> { ["symbol"] = "SEED", ["content"] = Valid, ["interval"] = "1h", [field] = value });
            yield return new($"import {field}={value[..Math.Min(value.Length, 20)]}", HttpMethod.Post, "/v1/market/imports", () => Json(body));
        }

        foreach (var row in new[] { "2024-01-04,1e308,1e308,1e308,1e308,1e308,1", "0001-01-01,1,1,1,1,1,1", "9999-12-31,1,1,1,1,1,1", "2024-01-04,NaN,1,1,1,1,1",
                     "2024-01-04,-1,1,1,1,1,1", "2024-01-04,1,1,1,1,1,-5", "2024-01-04,1,1,1,1,1,1e300", "2024-01-04,1,2,0.5,1,1,1e999", "2024-13-45,1,1,1,1,1,1",
                     "2024-01-04,Infinity,1,1,1,1,1", "2024-01-01,10,11,9,10.5,10.5,1000" })
        {
            var body = JsonSerializer.Serialize(new { symbol = "SEED", content = Valid + row + "\n" });
            yield return new($"import row {row[..Math.Min(row.Length, 25)]}", HttpMethod.Post, "/v1/market/imports", () => Json(body));
        }

        // Bars: symbols, cursors, limits, bounds.
        var rng = new Random(17);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (var i = 0; i < 40; i++)
        {
            var cursor = new string(Enumerable.Range(0, rng.Next(1, 16)).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray());
            yield return new("cursor " + cursor, HttpMethod.Get, $"/v1/market/SEED/bars?cursor={cursor}", () => null);
        }
        foreach (var query in new[] { "cursor=_z839HUoyis", "cursor=%00", "cursor=", "limit=-1", "limit=0", "limit=10001", "limit=99999999999", "limit=abc",
                     "from=0001-01-01", "to=9999-12-31T23:59:59Z", "from=0001-01-01T00:00:00%2B14:00", "from=garbage", "to=2024-99-99", "from=2025-01-01&to=2024-01-01",
                     "interval=7x", "interval=%00", "interval=1w", "format=xml", "format=%00", "limit=1&cursor=AAAAAAAAAAA" })
        {
            yield return new("bars " + query, HttpMethod.Get, "/v1/market/SEED/bars?" + query, () => null);
        }
        // A NUL byte (%00) in the URL path is refused by Kestrel before any application code runs, with its own empty
        // 400; it is not among these cases.
        foreach (var symbol in new[] { "..%2Fetc", "a%2Fb", "A%0AB", "A%01B", new string('A', 2000), "%20", "%C3%84", "NOPE", "-A" })
            yield return new("bars symbol " + symbol[..Math.Min(symbol.Length, 10)], HttpMethod.Get, $"/v1/market/{symbol}/bars", () => null);

        // Fetches: missing and wrong fields; no provider has an API key here.
        foreach (var body in new[]
                 {
                     "{}", "{\"provider\":\"polygon\"}", "{\"provider\":\"polygon\",\"symbol\":\"A\"}", "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-01-01\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}",
                     "{\"provider\":\"alphavantage\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}",
                     "{\"provider\":\"alphavantage\",\"symbol\":\"A\",\"interval\":\"1m\",\"from\":\"1900-01-01\",\"to\":\"2099-12-31\"}",
                     "{\"provider\":\"nope\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"../x\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"0001-01-01\",\"to\":\"9999-12-31\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-02-30\",\"to\":\"2024-03-01\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":20240101,\"to\":\"2024-03-01\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-03-01\",\"to\":\"2024-01-01\"}",
                     "{\"provider\":\"polygon\",\"symbol\":\"A\",\"interval\":\"9z\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}",
                     "{\"provider\":null,\"symbol\":null,\"from\":null,\"to\":null}", "[]", "null", "{\"provider\":", "{\"provider\":1e999999}",
                 })
        {
            yield return new("fetch " + body[..Math.Min(body.Length, 40)], HttpMethod.Post, "/v1/market/fetches", () => Json(body));
        }

        // Replays: paths outside the roots, ids, symbols, speeds.
        foreach (var body in new[]
                 {
                     "{\"path\":\"/etc/shadow\",\"symbol\":\"A\"}", "{\"path\":\"/etc/passwd\",\"symbol\":\"A\"}", "{\"path\":\"../../../etc/passwd\",\"symbol\":\"A\"}",
                     "{\"path\":\"/tmp\",\"symbol\":\"A\"}", "{\"path\":\"\\u0000\",\"symbol\":\"A\"}", "{\"symbol\":\"A\",\"id\":\"../../apikeys/index\"}",
                     "{\"symbol\":\"SEED\",\"id\":\"a/b\"}", "{\"symbol\":\"SEED\",\"id\":\"\"}", "{\"symbols\":[null]}", "{\"symbols\":[\"../etc\"]}", "{\"symbols\":[\"NOPE\"]}",
                     "{\"symbol\":\"SEED\",\"speed\":\"fast-ish\"}", "{\"symbol\":\"SEED\",\"speed\":\"-5x\"}", "{\"symbol\":\"SEED\",\"speed\":\"1e999x\"}",
                     "{\"symbol\":\"SEED\",\"interval\":\"9q\"}", "{\"symbol\":\"SEED\",\"from\":\"2025-01-01\",\"to\":\"2024-01-01\"}", "{\"symbol\":\"SEED\",\"from\":\"garbage\"}",
                     "{\"symbols\":" + JsonSerializer.Serialize(Enumerable.Range(0, 1001).Select(i => "S" + i)) + "}", "[]", "{\"symbol\":", "{\"path\":\"/etc/shadow\"}",
                 })
        {
            yield return new("replay " + body[..Math.Min(body.Length, 40)], HttpMethod.Post, "/v1/market/replays", () => Json(body));
        }
        foreach (var id in new[] { "..%2F..%2Fapikeys%2Findex", "none", "a.b", "%01", new string('x', 500) })
        {
            yield return new("get replay " + id[..Math.Min(id.Length, 10)], HttpMethod.Get, "/v1/market/replays/" + id, () => null);
            yield return new("delete replay " + id[..Math.Min(id.Length, 10)], HttpMethod.Delete, "/v1/market/replays/" + id, () => null);
        }
    }

    private long StoredBars()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_app.DataDir, SqliteBarReader.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM bars";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task MarketDataRoutes_GeneratedBadInput_NoServerErrorEveryRefusalAProblemNoPartialWrite()
    {
        var cases = Cases().ToList();
        var failures = new List<string>();
        var refused = 0;
        foreach (var c in cases)
        {
            var before = StoredBars();
            using var request = new HttpRequestMessage(c.Method, c.Url) { Content = c.Body() };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await _app.Http.SendAsync(request);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            // 503 is the one server-side status a refusal may carry: a provider this deployment has no API key for.
            if (status >= 500 && !(status == 503 && body.Contains("Provider not configured", StringComparison.Ordinal))) failures.Add($"{c.Shown}: {status} {body[..Math.Min(body.Length, 300)]}");
            if (status is >= 400 and < 500)
            {
                refused++;
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || !IsProblem(body, status))
                    failures.Add($"{c.Shown}: {status} without problem details ({response.Content.Headers.ContentType}) {body[..Math.Min(body.Length, 200)]}");
                if (StoredBars() != before) failures.Add($"{c.Shown}: refused with {status} but the stored bar count changed");
            }
        }
        foreach (var (name, failure) in await RawCasesAsync()) failures.Add($"{name}: {failure}");

        Assert.True(cases.Count >= 300, $"only {cases.Count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures));
        Assert.True(refused > cases.Count * 3 / 4, $"only {refused} of {cases.Count} refused");
    }

    private static bool IsProblem(string body, int status)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("status", out var s) && s.GetInt32() == status && doc.RootElement.TryGetProperty("title", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A Content-Length that does not match the body, which no well-behaved client sends, written on a raw socket. Shorter
    /// than the body: the server reads a truncated JSON document and must refuse it. Longer, with the client then closing
    /// its side: the server may answer or not (the client is gone), but never with a 5xx, and nothing is written.
    /// </summary>
    private async Task<List<(string Name, string Failure)>> RawCasesAsync()
    {
        var failures = new List<(string, string)>();
        var uri = new Uri(_app.Http.BaseAddress!, "/v1/market/imports");
        var full = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { symbol = "SEED", content = Valid + "2024-01-04,1,1,1,1,1,1\n" }));
        foreach (var (declared, sent) in new[] { (10, full.Length), (full.Length - 5, full.Length), (1, full.Length), (full.Length + 100, full.Length), (5000, 1) })
        {
            var name = $"Content-Length {declared} with {sent} bytes";
            var before = StoredBars();
            using var client = new TcpClient();
            await client.ConnectAsync(uri.Host, uri.Port);
            var stream = client.GetStream();
            var head = $"POST {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head).Concat(full[..sent]).ToArray());
            if (sent < declared) client.Client.Shutdown(SocketShutdown.Send);
            // Kestrel may reset the connection once it has answered; keep what arrived before.
            var received = new MemoryStream();
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30))) > 0) received.Write(buffer, 0, n);
            }
            catch (IOException) { }
            var response = Encoding.UTF8.GetString(received.ToArray());
            var statusLine = response.Split("\r\n")[0];
            if (sent > declared)
            {
                if (!statusLine.StartsWith("HTTP/1.1 400", StringComparison.Ordinal)) failures.Add((name, "expected 400, got: " + statusLine));
                else if (!response.Contains("Content-Type: application/problem+json", StringComparison.OrdinalIgnoreCase)) failures.Add((name, "no problem details: " + response));
            }
            else if (statusLine.StartsWith("HTTP/1.1 5", StringComparison.Ordinal)) failures.Add((name, statusLine));
            if (StoredBars() != before) failures.Add((name, "the stored bar count changed"));
        }
        return failures;
    }
}
