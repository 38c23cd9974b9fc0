using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;
using Platform.Gateway.Identity;
using Xunit.Abstractions;

namespace Platform.Host.Tests;

/// <summary>
/// Generated malformed requests against every service's routes, sent through the gateway of one embedded platform with a
/// key holding every scope, over real HTTP: no answer may be a 5xx, every 4xx must be a problem-details body, a refused
/// request must leave the training runs, backtests, keys, registered models and stored bars as they were, and only the
/// requests <see cref="MayBeAccepted"/> lists as valid may be accepted: anything else a strict API refuses.
/// </summary>
[Trait("Category", "Slow")]
public sealed class GatewayBadInputSuite(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Symbol = "SEED";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "host-bad-input-" + Guid.NewGuid().ToString("N"));
    private EmbeddedPlatform _platform = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _platform = await EmbeddedPlatform.StartAsync(EmbeddedPlatformTests.Options(_dataDir));
        var key = await DevelopmentKey.EnsureAsync(_platform.Services("gateway"), CancellationToken.None);
        Assert.NotNull(key);
        _http = new HttpClient { BaseAddress = new Uri(_platform.GatewayUrl), Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Add("X-Api-Key", key);

        // A year of daily bars, so symbol checks pass and validation is judged on the field under test.
        var csv = new StringBuilder("Date,Open,High,Low,Close,Adj Close,Volume\n");
        var day = new DateOnly(2023, 1, 2);
        for (var i = 0; i < 260; i++, day = day.AddDays(1))
        {
            var close = 100 + 10 * Math.Sin(i / 9.0);
            csv.Append(CultureInfo.InvariantCulture, $"{day:yyyy-MM-dd},{close:F2},{close + 1:F2},{close - 1:F2},{close:F2},{close:F2},{1000 + i}\n");
        }
        var seeded = await _http.PostAsJsonAsync("/v1/market/imports", new { symbol = Symbol, content = csv.ToString() });
        Assert.Equal(HttpStatusCode.Created, seeded.StatusCode);

        // A registered model (return-h5, version 1), so that transitions reach the registry instead of stopping at 404.
        var trained = await _http.PostAsJsonAsync("/v1/training-runs",
            new { symbols = new[] { Symbol }, target = "return", horizon = 5, candidates = new[] { new { kind = "ridge" } } });
        Assert.Equal(HttpStatusCode.Accepted, trained.StatusCode);
        await SettleAsync(trained.Headers.Location!);
        Assert.Equal(1, (await _http.GetFromJsonAsync<JsonElement>("/v1/models")).GetArrayLength());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _platform.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private sealed record Case(HttpMethod Method, string Url, string? Body, string? ContentType = "application/json", byte[]? Raw = null)
    {
        public string Shown
        {
            get
            {
                var body = Raw is not null ? "0x" + Convert.ToHexString(Raw[..Math.Min(Raw.Length, 60)]) : Body ?? "";
                var text = $"{Method} {Url[..Math.Min(Url.Length, 120)]} [{ContentType}] {body[..Math.Min(body.Length, 120)]}";
                // Control characters escaped, so a failure report stays readable text.
                return string.Concat(text.Select(ch => char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString()));
            }
        }

        public HttpContent? Content()
        {
            if (Body is null && Raw is null) return null;
            var content = new ByteArrayContent(Raw ?? Encoding.UTF8.GetBytes(Body!));
            if (ContentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            return content;
        }
    }

    /// <summary>Values of every wrong kind, put in turn into each field of a valid body.</summary>
    private static readonly string[] WrongValues =
    [
        "1e999999", "-1e999999", "1e308", "-1", "\"NaN\"", "\"Infinity\"", "true", "null", "[null]", "{}", "\"\"", "\"\\u0000\"",
        "\"../../etc/passwd\"", "\"Gold\"", "[[[[[[[[[[]]]]]]]]]]", "\"" + new string('x', 5000) + "\"",
    ];

    /// <summary>A JSON route: a valid body, its fields, and the generic malformations of any body.</summary>
    private static IEnumerable<Case> JsonRoute(string url, Dictionary<string, string> valid, IEnumerable<string> extraFields)
    {
        string Body(string field, string value)
        {
            var fields = valid.Where(kv => kv.Key != field).Select(kv => $"\"{kv.Key}\":{kv.Value}").Append($"\"{field}\":{value}");
            return "{" + string.Join(",", fields) + "}";
        }

        var baseBody = "{" + string.Join(",", valid.Select(kv => $"\"{kv.Key}\":{kv.Value}")) + "}";
        foreach (var field in valid.Keys.Concat(extraFields))
            foreach (var value in WrongValues)
                yield return new(HttpMethod.Post, url, Body(field, value));

        // Broken JSON: prefixes of the valid body.
        for (var n = 1; n < baseBody.Length; n += Math.Max(1, baseBody.Length / 6))
            yield return new(HttpMethod.Post, url, baseBody[..n]);

        foreach (var body in new[] { "", "null", "[]", "123", "\"text\"", "{", "{\"a\":}", "{,}", "{'single':'quotes'}", baseBody + baseBody })
            yield return new(HttpMethod.Post, url, body);
        foreach (var depth in new[] { 65, 1000 })
        {
            yield return new(HttpMethod.Post, url, new string('[', depth) + new string(']', depth));
            yield return new(HttpMethod.Post, url, Body(valid.Keys.First(), new string('[', depth) + new string(']', depth)));
        }
        foreach (var bad in new byte[][] { [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF] })
            yield return new(HttpMethod.Post, url, null, "application/json",
                Encoding.UTF8.GetBytes(baseBody[..^1] + ",\"x\":\"").Concat(bad).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray());
        foreach (var type in new[] { "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "application/json; charset=utf-16", "garbage", null })
            yield return new(HttpMethod.Post, url, baseBody, type);
    }

    private static IEnumerable<Case> Get(params string[] urls) => urls.Select(u => new Case(HttpMethod.Get, u, null, null));

    private static readonly string[] BadSegments =
        ["..%2F..%2Fapikeys%2Findex", "..", "%2E%2E", "a%2Fb", "%00", "A%00B", "%01", "%20", "%C3%28", new string('x', 3000), new string('y', 10_000)];

    private static IEnumerable<Case> Cases()
    {
        var cases = new List<Case>();

        // Training runs.
        cases.AddRange(JsonRoute("/v1/training-runs",
            new() { ["symbols"] = $"[\"{Symbol}\"]", ["target"] = "\"return\"", ["horizon"] = "5", ["candidates"] = "[{\"kind\":\"ridge\"}]" },
            ["interval", "from", "to", "featureSet", "model", "folds", "seed", "promote", "policy", "searchTrials", "dataSource", "finalFraction"]));
        foreach (var body in new[]
                 {
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"policy\":{\"metric\":null}}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"policy\":{\"metric\":\"nope\",\"minImprovement\":\"NaN\"}}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"candidates\":[{\"kind\":\"platinum\"}]}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"candidates\":[{\"kind\":null}]}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"candidates\":[{\"kind\":\"ridge\",\"parameters\":{\"alpha\":null}}]}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"candidates\":[{\"kind\":\"ridge\",\"parameters\":{\"alpha\":\"-1e999\"}}]}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":-5}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":2147483648}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"from\":\"2024-01-01\",\"to\":\"2023-01-01\"}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"from\":\"0001-01-01T00:00:00+14:00\"}",
                     "{\"symbols\":[\"SEED\"],\"target\":\"return\",\"horizon\":5,\"interval\":\"9q\"}",
                     "{\"symbols\":[\"../etc\"],\"target\":\"return\",\"horizon\":5}",
                     "{\"symbols\":[\"SEED\",null],\"target\":\"return\",\"horizon\":5}",
                     "{\"symbols\":" + JsonSerializer.Serialize(Enumerable.Range(0, 5000).Select(i => "S" + i)) + ",\"target\":\"return\",\"horizon\":5}",
                 })
            cases.Add(new(HttpMethod.Post, "/v1/training-runs", body));
        foreach (var id in BadSegments.Concat(["train-", "train-00000000000000000000000000000000", "none"]))
        {
            cases.AddRange(Get($"/v1/training-runs/{id}", $"/v1/training-runs/{id}/trials"));
            cases.Add(new(HttpMethod.Delete, $"/v1/training-runs/{id}", null, null));
        }

        // Models: reads, files, transitions.
        foreach (var name in BadSegments.Concat(["no-such-model"]))
            cases.AddRange(Get($"/v1/models/{name}", $"/v1/models/{name}/versions", $"/v1/models/{name}/compare?a=1&b=2", $"/v1/models/{name}/versions/1/files"));
        foreach (var query in new[] { "", "?a=1", "?a=&b=", "?a=-1&b=99999999999", "?a=champion&b=%00", "?a=nope&b=latest", "?a=1e308&b=NaN", "?a=" + new string('9', 5000) + "&b=1" })
            cases.AddRange(Get("/v1/models/return-h5/compare" + query));
        foreach (var version in new[] { "-1", "0", "99999999999", "NaN", "champion", "%00", "..%2F..", new string('9', 500) })
            cases.AddRange(Get($"/v1/models/return-h5/versions/{version}/files", $"/v1/models/return-h5/versions/{version}/files/card.md"));
        foreach (var file in new[] { "..%2F..%2Fstate.db", "..", "%2Fetc%2Fpasswd", "card.md%00.png", "nope.png", new string('f', 3000) })
            cases.AddRange(Get($"/v1/models/return-h5/versions/1/files/{file}"));
        foreach (var body in new[]
                 {
                     "{\"stage\":\"Gold\"}", "{\"stage\":7}", "{\"stage\":-1}", "{\"stage\":null}", "{\"stage\":\"\"}",
                     "{\"stage\":\"Production\",\"policy\":{\"metric\":null}}", "{\"stage\":\"Production\",\"policy\":{\"metric\":\"nope\"}}",
                     "{\"stage\":\"Production\",\"policy\":{\"minImprovement\":1e999999}}", "{\"stage\":\"Production\",\"policy\":{\"minImprovement\":\"NaN\"}}",
                     "{\"stage\":\"Production\",\"policy\":{\"relative\":\"maybe\"}}", "{\"stage\":\"Production\",\"policy\":[]}", "{\"stage\":", "[]", "null", "",
                 })
        {
            cases.Add(new(HttpMethod.Post, "/v1/models/return-h5/versions/1/promote", body));
            cases.Add(new(HttpMethod.Post, "/v1/models/no-such-model/versions/1/promote", body));
        }
        foreach (var version in new[] { "-1", "0", "99999999999", "NaN", "1e308", "%00" })
        {
            cases.Add(new(HttpMethod.Post, $"/v1/models/return-h5/versions/{version}/promote", "{\"stage\":\"Production\"}"));
            cases.Add(new(HttpMethod.Post, $"/v1/models/return-h5/versions/{version}/archive", null, null));
        }
        foreach (var name in BadSegments.Concat(["no-such-model"]))
        {
            cases.Add(new(HttpMethod.Post, $"/v1/models/{name}/rollback", null, null));
            cases.Add(new(HttpMethod.Post, $"/v1/models/{name}/rollback", "{\"broken\":", "application/json"));
            cases.Add(new(HttpMethod.Post, $"/v1/models/{name}/versions/1/archive", null, null));
        }

        // Backtests.
        cases.AddRange(JsonRoute("/v1/backtests",
            new() { ["symbols"] = $"[\"{Symbol}\"]", ["strategy"] = "\"sma-cross\"" },
            ["from", "to", "interval", "parameters", "initialCash", "allowShort", "maxLeverage", "maxParticipation", "commission", "slippage", "sizing", "model", "modelVersion"]));
        foreach (var extra in new[]
                 {
                     "\"commission\":{\"model\":\"platinum\"}", "\"commission\":{\"model\":null}", "\"commission\":{\"model\":\"per-share\",\"perShare\":1e308}",
                     "\"commission\":{\"model\":\"percent\",\"rate\":-1}", "\"commission\":{\"model\":\"percent\",\"rate\":\"NaN\"}", "\"slippage\":{\"model\":\"nope\"}",
                     "\"sizing\":{\"model\":\"nope\"}", "\"parameters\":{\"fast\":null}", "\"parameters\":{\"fast\":-1e308}", "\"parameters\":{\"fast\":\"NaN\"}",
                     "\"initialCash\":1e308", "\"initialCash\":0", "\"initialCash\":-5", "\"maxLeverage\":-1", "\"maxParticipation\":0", "\"from\":\"2025-01-01\",\"to\":\"2023-01-01\"",
                     "\"from\":\"garbage\"", "\"from\":\"0001-01-01\",\"to\":\"9999-12-31\"", "\"strategy\":\"model\"", "\"strategy\":\"model\",\"model\":\"no-such-model\"",
                     "\"strategy\":\"model\",\"model\":\"../x\",\"modelVersion\":\"-1\"", "\"interval\":\"1w\"", "\"symbols\":[]", "\"symbols\":[null]", "\"symbols\":[\"NOPE\"]",
                 })
        {
            var body = extra.StartsWith("\"symbols\"", StringComparison.Ordinal) || extra.StartsWith("\"strategy\"", StringComparison.Ordinal)
                ? "{" + (extra.StartsWith("\"strategy\"", StringComparison.Ordinal) ? $"\"symbols\":[\"{Symbol}\"]," : "\"strategy\":\"sma-cross\",") + extra + "}"
                : $"{{\"symbols\":[\"{Symbol}\"],\"strategy\":\"sma-cross\",{extra}}}";
            cases.Add(new(HttpMethod.Post, "/v1/backtests", body));
        }
        foreach (var id in BadSegments.Concat(["bt-", "bt-00000000000000000000000000000000"]))
        {
            cases.AddRange(Get($"/v1/backtests/{id}"));
            cases.Add(new(HttpMethod.Delete, $"/v1/backtests/{id}", null, null));
        }

        // Serving: single, batch and the compatibility route.
        var predictionValid = new Dictionary<string, string> { ["model"] = "\"return-h5\"", ["symbol"] = $"\"{Symbol}\"" };
        string[] predictionFields = ["interval", "features", "time", "requestId"];
        cases.AddRange(JsonRoute("/v1/predictions", predictionValid, predictionFields));
        cases.AddRange(JsonRoute("/predict", predictionValid, predictionFields).Where((_, i) => i % 3 == 0));
        cases.AddRange(JsonRoute("/v1/predictions/batch",
            new() { ["model"] = "\"return-h5\"", ["symbols"] = $"[\"{Symbol}\"]" }, ["interval", "items", "requestId"]).Where((_, i) => i % 2 == 0));
        foreach (var body in new[]
                 {
                     "{\"model\":\"return-h5\",\"items\":[null]}", "{\"model\":\"return-h5\",\"items\":[{\"symbol\":null}]}",
                     "{\"model\":\"return-h5\",\"items\":[{\"symbol\":\"SEED\",\"features\":[null,1e308,\"NaN\"]}]}",
                     "{\"model\":\"return-h5\",\"items\":[{\"symbol\":\"SEED\",\"features\":[1e999999]}]}", "{\"model\":\"return-h5\",\"symbols\":[null]}",
                     "{\"model\":\"return-h5\",\"symbols\":" + JsonSerializer.Serialize(Enumerable.Range(0, 5000).Select(i => "S" + i)) + "}",
                     "{\"model\":\"return-h5\",\"symbols\":[],\"items\":[]}",
                 })
            cases.Add(new(HttpMethod.Post, "/v1/predictions/batch", body));
        foreach (var body in new[]
                 {
                     "{\"model\":\"return-h5\",\"symbol\":\"SEED\",\"features\":[null]}", "{\"model\":\"return-h5\",\"symbol\":\"SEED\",\"features\":[1e308,-1e308]}",
                     "{\"model\":\"return-h5\",\"symbol\":\"../etc\"}", "{\"model\":\"return-h5\",\"symbol\":\"A\\u0000B\"}", "{\"model\":\"../../x\",\"symbol\":\"SEED\"}",
                     "{\"model\":\"return-h5\",\"symbol\":\"SEED\",\"time\":\"9999-12-31T23:59:59+00:00\"}", "{\"model\":\"return-h5\",\"symbol\":\"SEED\",\"interval\":\"9q\"}",
                 })
            cases.Add(new(HttpMethod.Post, "/v1/predictions", body));
        cases.AddRange(Get("/v1/serving/models?x=%00", "/model-info?verbose=NaN", "/models?limit=-1"));

        // Monitoring.
        foreach (var model in BadSegments.Concat(["no-such-model"]))
            cases.AddRange(Get($"/v1/monitoring/models/{model}/quality", $"/v1/monitoring/models/{model}/predictions", $"/v1/monitoring/models/{model}/drift"));
        foreach (var query in new[] { "version=-1", "version=NaN", "version=99999999999", "windows=1", "windows=abc", "windows=2,,%00", "windows=999999999999", "windows=" + string.Join(",", Enumerable.Repeat("50", 2000)) })
            cases.AddRange(Get("/v1/monitoring/models/return-h5/quality?" + query));
        foreach (var query in new[] { "limit=-1", "limit=0", "limit=99999999999", "limit=abc", "cursor=_z839HUoyis", "cursor=%00", "cursor=" + new string('A', 5000), "cursor=!!!",
                     "from=garbage", "to=2024-99-99", "from=0001-01-01T00:00:00%2B14:00", "from=2025-01-01&to=2024-01-01", "joined=maybe", "version=NaN" })
            cases.AddRange(Get("/v1/monitoring/models/return-h5/predictions?" + query));
        foreach (var query in new[] { "limit=-1", "limit=abc", "limit=99999999999", "limit=1e308" })
            cases.AddRange(Get("/v1/monitoring/models/return-h5/drift?" + query));
        cases.AddRange(Get("/v1/monitoring/status?limit=-1"));

        // Keys.
        cases.AddRange(JsonRoute("/v1/keys",
            new() { ["name"] = "\"bad-input\"", ["tier"] = "\"platinum\"", ["scopes"] = "[\"market:read\"]" }, ["owner"]));
        foreach (var body in new[]
                 {
                     "{\"name\":\"k\",\"tier\":\"standard\",\"scopes\":[\"root\"]}", "{\"name\":\"k\",\"tier\":\"standard\",\"scopes\":[null]}",
                     "{\"name\":null,\"tier\":\"standard\",\"scopes\":[\"market:read\"]}", "{\"name\":\"k\",\"tier\":\"\",\"scopes\":[\"market:read\"]}",
                 })
            cases.Add(new(HttpMethod.Post, "/v1/keys", body));
        foreach (var id in BadSegments.Concat(["0000000000000000", "not-hex"]))
            cases.Add(new(HttpMethod.Delete, $"/v1/keys/{id}", null, null));

        // Market data: a few (its own suite covers the routes in depth).
        cases.AddRange(Get($"/v1/market/{Symbol}/bars?cursor=_z839HUoyis", $"/v1/market/{Symbol}/bars?limit=-1", $"/v1/market/{Symbol}/bars?from=garbage",
            "/v1/market/..%2Fetc/bars", "/v1/market/" + new string('A', 3000) + "/latest"));
        cases.Add(new(HttpMethod.Post, "/v1/market/imports", "{\"symbol\":\"SEED\",\"content\":1e999999}"));
        cases.Add(new(HttpMethod.Post, "/v1/market/imports", "{\"symbol\":\"a/b\",\"content\":\"Date,Close\\n2024-01-01,1\\n\"}"));
        cases.Add(new(HttpMethod.Post, "/v1/market/replays", "{\"path\":\"/etc/shadow\",\"symbol\":\"SEED\"}"));
        return cases;
    }

    /// <summary>
    /// The generated requests that are valid after all, so accepting them is right: a field given as null (its default), values
    /// in range (a seed of -1, an empty policy or parameter set, shorting allowed), the walk-forward model strategy without a
    /// registered model, request ids that follow their rule however they read, a batch whose bad item is answered as a per-item
    /// error, the champion alias, unknown query parameters (ignored), and a valid model name nothing was predicted for.
    /// Every other case must be refused.
    /// </summary>
    private static bool MayBeAccepted(Case c)
    {
        if (c.Method == HttpMethod.Get) return AcceptedGets.Any(prefix => c.Url.StartsWith(prefix, StringComparison.Ordinal));
        if (c.Raw is not null || c.ContentType != "application/json" || c.Body is not { } body) return false;
        return body.EndsWith(":null}", StringComparison.Ordinal) || AcceptedBodyEndings.Any(e => body.EndsWith(e, StringComparison.Ordinal));
    }

    private static readonly string[] AcceptedGets =
    [
        "/v1/models/return-h5/versions/champion/files", "/v1/serving/models?x=", "/model-info?verbose=", "/models?limit=",
        "/v1/monitoring/models/no-such-model/predictions", "/v1/monitoring/models/no-such-model/drift", "/v1/monitoring/status?limit=",
    ];

    private static readonly string[] AcceptedBodyEndings =
    [
        "\"seed\":-1}", "\"promote\":true}", "\"policy\":{}}", "\"parameters\":{}}", "\"allowShort\":true}", "{\"symbols\":[\"SEED\"],\"strategy\":\"model\"}",
        "\"requestId\":\"NaN\"}", "\"requestId\":\"Infinity\"}", "\"requestId\":\"Gold\"}",
        "\"items\":[{\"symbol\":\"SEED\",\"features\":[null,1e308,\"NaN\"]}]}", "\"items\":[{\"symbol\":\"SEED\",\"features\":[1e999999]}]}",
    ];

    private sealed record Counts(long TrainingRuns, long Backtests, int Keys, int Models, long Bars);

    private async Task<Counts> CountAsync()
    {
        long Count(string file, string sql)
        {
            using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            return (long)cmd.ExecuteScalar()!;
        }

        var state = EmbeddedRuntimeExtensions.StateFile(_dataDir);
        var keys = await _http.GetFromJsonAsync<JsonElement>("/v1/keys");
        var models = await _http.GetFromJsonAsync<JsonElement>("/v1/models");
        return new Counts(
            Count(state, "SELECT count(*) FROM state WHERE key LIKE '%workflow-owner:train-%'"),
            Count(state, "SELECT count(*) FROM state WHERE key LIKE '%workflow-owner:bt-%'"),
            keys.GetArrayLength(),
            models.GetArrayLength(),
            Count(Path.Combine(_dataDir, Platform.OfflineStore.Sqlite.SqliteBarReader.FileName), "SELECT count(*) FROM bars"));
    }

    [Fact]
    public async Task AllRoutesThroughGateway_GeneratedBadInput_NoServerErrorEveryRefusalAProblemNoPartialWrite()
    {
        var cases = Cases().ToList();
        var failures = new List<string>();
        var refused = 0;
        var before = await CountAsync();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(c.Method, c.Url) { Content = c.Content() };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await _http.SendAsync(request);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            var excerpt = body[..Math.Min(body.Length, 200)];
            if (status >= 500) failures.Add($"{c.Shown} -> {status} {excerpt}");
            else if (status >= 400)
            {
                refused++;
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || !IsProblem(body, status))
                    failures.Add($"{c.Shown} -> {status} without problem details ({response.Content.Headers.ContentType}) {excerpt}");
                var after = await CountAsync();
                if (after != before) failures.Add($"{c.Shown} -> refused with {status} but stored counts changed: {before} -> {after}");
                before = after;
            }
            else
            {
                output.WriteLine($"accepted: {c.Shown} -> {status}");
                if (!MayBeAccepted(c)) failures.Add($"{c.Shown} -> {status}: accepted, but it is not a valid request");
                // An accepted run writes when it finishes (a trained model is registered): let it, so that what it writes is
                // not charged to a later refused request.
                if (status == 202 && response.Headers.Location is { } location) await SettleAsync(location);
                before = await CountAsync();
            }
        }

        output.WriteLine($"{cases.Count} cases, {refused} refused");
        Assert.True(cases.Count >= 300, $"only {cases.Count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures));
        Assert.True(refused >= cases.Count * 95 / 100, $"only {refused} of {cases.Count} refused");
    }

    /// <summary>Waits until the run at <paramref name="location"/> is no longer pending or running.</summary>
    private async Task SettleAsync(Uri location)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var run = await _http.GetFromJsonAsync<JsonElement>(location);
            if (run.GetProperty("status").GetString() is not ("pending" or "running" or "suspended" or "unknown")) return;
            await Task.Delay(200);
        }
        Assert.Fail($"{location} did not finish in 3 minutes");
    }

    private static bool IsProblem(string body, int status)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status
                && doc.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
