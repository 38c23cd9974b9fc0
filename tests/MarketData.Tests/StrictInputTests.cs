using Platform.MarketData.Apis;
using Platform.MarketData.Files;
using Platform.MarketData.Replay;

namespace Platform.MarketData.Tests;

/// <summary>Refusals of the market-data API, each with the problem details a caller reads.</summary>
public sealed class StrictInputTests : IAsyncLifetime
{
    private const string Row = "2024-01-02,10,11,9,10.5,10.5,1000";
    private ServiceApp _app = null!;
    private string _root = null!;
    private string _outside = null!;

    public async Task InitializeAsync()
    {
        // The data directory is the only allowed root here; a sibling directory is outside it.
        _outside = Directory.CreateTempSubdirectory("marketdata-outside-").FullName;
        _root = Directory.CreateTempSubdirectory("marketdata-root-").FullName;
        _app = await ServiceApp.StartAsync(_root, new()
        {
            ["MarketData:Imports:AllowedRoots:0"] = _root,
            ["MarketData:Imports:MaxContentBytes"] = "100000",
            ["MarketData:Replay:MaxBars"] = "3",
        });
        await File.WriteAllTextAsync(Path.Combine(_outside, "secret.csv"), "Date,Open,High,Low,Close,Adj Close,Volume\n" + Row);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_outside, recursive: true);
        Directory.Delete(_root, recursive: true);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<HttpResponseMessage> PostJsonAsync(string url, string json) =>
        _app.Http.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task PostImport_PathOutsideRootMissingOrThroughSymlink_GivesTheSameError()
    {
        var link = Path.Combine(_root, "link.csv");
        File.CreateSymbolicLink(link, Path.Combine(_outside, "secret.csv"));
        var dirLink = Path.Combine(_root, "elsewhere");
        Directory.CreateSymbolicLink(dirLink, _outside);

        var details = new List<string>();
        foreach (var path in new[] { Path.Combine(_outside, "secret.csv"), Path.Combine(_outside, "missing.csv"), Path.Combine(_root, "missing.csv"),
                     link, Path.Combine(dirLink, "secret.csv"), "../" + Path.GetFileName(_outside) + "/secret.csv", _root })
        {
            var problem = await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("SEC", Path: path)), HttpStatusCode.BadRequest);
            details.Add(problem.GetProperty("errors").GetProperty("path")[0].GetString()!.Replace(path, "P"));
        }

        Assert.Single(details.Distinct());
        Assert.DoesNotContain(await _app.Http.GetFromJsonAsync<List<SymbolInfo>>("/v1/market/symbols") ?? [], s => s.Symbol == "SEC");
    }

    [Fact]
    public async Task PostImport_SymlinkInsideTheRootToAFileInsideIt_Imports()
    {
        var target = Path.Combine(_root, "real.csv");
        await File.WriteAllTextAsync(target, "Date,Open,High,Low,Close,Adj Close,Volume\n" + Row);
        File.CreateSymbolicLink(Path.Combine(_root, "alias.csv"), target);

        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("IN", Path: "alias.csv"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public void TryResolve_LinkLoop_IsRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "a"), Path.Combine(_root, "b"));
        File.CreateSymbolicLink(Path.Combine(_root, "b"), Path.Combine(_root, "a"));
        var files = _app.Services.GetRequiredService<ServerFiles>();

        Assert.False(files.TryResolve("a", out _, out _));
    }

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("/nonexistent/file.csv")]
    public async Task PostReplay_PathOutsideTheRoots_Returns400WithTheSameError(string path)
    {
        var problem = await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/replays", new ReplayRequest(Path: path, Symbol: "R")), HttpStatusCode.BadRequest);

        Assert.StartsWith($"'{path}' is not a file this service may read", problem.GetProperty("errors").GetProperty("path")[0].GetString());
    }

    [Fact]
    public async Task PostReplay_FileOutsideTheRootThroughASymlink_IsRefusedAndPublishesNothing()
    {
        var link = Path.Combine(_root, "replay.csv");
        File.CreateSymbolicLink(link, Path.Combine(_outside, "secret.csv"));

        await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/replays", new ReplayRequest(Path: link, Symbol: "R")), HttpStatusCode.BadRequest);

        Assert.Empty(_app.Delivered);
    }

    [Fact]
    public async Task PostImport_ServerFileOverTheSizeLimit_Returns413()
    {
        await File.WriteAllTextAsync(Path.Combine(_root, "big.csv"), "Date,Open,High,Low,Close,Adj Close,Volume\n" + new string('\n', 200_000));

        var problem = await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("BIG", Path: "big.csv")), HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("MarketData:Imports:MaxContentBytes", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task PostReplay_StoredRangeOverTheBarLimit_Returns400BeforeStarting()
    {
        var rows = string.Join("\n", Enumerable.Range(0, 5).Select(i => $"2024-01-{i + 2:D2},10,11,9,10.5,10.5,1000"));
        await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("MANY", Content: "Date,Open,High,Low,Close,Adj Close,Volume\n" + rows));

        var problem = await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/replays", new ReplayRequest(Symbols: ["MANY"])), HttpStatusCode.BadRequest);

        Assert.Contains("MarketData:Replay:MaxBars", problem.GetProperty("errors").GetProperty("replay")[0].GetString());
        Assert.DoesNotContain(_app.Delivered, e => e.Type == "BarClosed");
    }

    [Theory]
    [InlineData("../../apikeys/index")]
    [InlineData("a/b")]
    [InlineData("x.y")]
    [InlineData("")]
    public async Task PostReplay_IdOutsideTheRule_Returns400(string id)
    {
        var problem = await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/replays", new ReplayRequest(Symbol: "R", Id: id)), HttpStatusCode.BadRequest);

        Assert.Equal(ReplayService.IdRule, problem.GetProperty("errors").GetProperty("id")[0].GetString());
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("A\nB")]
    [InlineData("A\0B")]
    [InlineData("")]
    public async Task PostImport_SymbolOutsideTheRule_Returns400AndStoresNothing(string symbol)
    {
        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest(symbol, Content: "Date,Open,High,Low,Close,Adj Close,Volume\n" + Row));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("symbol", out _));
        Assert.Empty(await _app.Http.GetFromJsonAsync<List<SymbolInfo>>("/v1/market/symbols") ?? []);
    }

    [Fact]
    public async Task PostImport_TenThousandCharacterSymbol_Returns400()
    {
        await ProblemAsync(await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest(new string('A', 10_000), Content: Row)), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("2024-01-02,10,1e308,9,10.5,10.5,1000", "high 1E+308 is not a finite positive price")]
    [InlineData("0001-01-01,10,11,9,10.5,10.5,1000", "time 0001-01-01T00:00:00Z is outside 1900 to 2099")]
    [InlineData("9999-01-01,10,11,9,10.5,10.5,1000", "time 9999-01-01T00:00:00Z is outside 1900 to 2099")]
    public async Task PostImport_ValueOutOfRange_Returns422NamingFileAndLine(string row, string reason)
    {
        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports",
            new ImportRequest("RANGE", Content: "Date,Open,High,Low,Close,Adj Close,Volume\n" + Row.Replace("2024-01-02", "2023-12-29") + "\n" + row));

        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.StartsWith($"upload:3: {reason}", problem.GetProperty("errors")[1].GetString());
    }

    [Fact]
    public async Task PostImport_DailyBarsNamedWeekly_Returns422()
    {
        var csv = "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-01,10,11,9,10.5,10.5,1\n2024-01-02,10,11,9,10.5,10.5,1\n";

        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("WEEK", Content: csv, Interval: "1w"));

        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("upload:3: time 2024-01-02T00:00:00Z is less than one 1w interval after", problem.GetProperty("errors")[1].GetString());
    }

    [Theory]
    [InlineData("%")]
    [InlineData("\"")]
    [InlineData("'")]
    [InlineData("\\")]
    public async Task PostImport_UnusableDateFormat_Returns400(string format)
    {
        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("FMT", Content: Row, DateFormat: format));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("dateFormat", out _));
    }

    [Theory]
    [InlineData("{\"symbol\":\"A\",\"content\":", "The request could not be read")]
    [InlineData("{\"symbol\":1e999999,\"content\":\"x\"}", "The request could not be read")]
    [InlineData("{\"symbol\":\"A\",\"skipInvalid\":\"yes\",\"content\":\"x\"}", "The request could not be read")]
    [InlineData("null", "The request could not be read")]
    public async Task PostImport_UnreadableJson_Returns400ProblemWithTheReason(string json, string title)
    {
        var problem = await ProblemAsync(await PostJsonAsync("/v1/market/imports", json), HttpStatusCode.BadRequest);

        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task OpenApi_ImportRoute_DescribesTheJsonAndTheMultipartBody()
    {
        var document = await _app.Http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var content = document.GetProperty("paths").GetProperty("/v1/market/imports").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(content.TryGetProperty("application/json", out _), content.ToString());
        Assert.True(content.TryGetProperty("multipart/form-data", out _), content.ToString());
    }

    [Fact]
    public async Task PostImport_UnsupportedContentType_Returns415Problem()
    {
        var response = await _app.Http.PostAsync("/v1/market/imports", new StringContent("<import/>", Encoding.UTF8, "application/xml"));

        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task PostImport_MultipartWithoutBoundary_Returns400Problem()
    {
        var content = new ByteArrayContent("--x\r\nContent-Disposition: form-data; name=\"symbol\"\r\n\r\nA\r\n--x--\r\n"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");

        await ProblemAsync(await _app.Http.PostAsync("/v1/market/imports", content), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetBars_CursorBeyondTheLastRepresentableTime_Returns400()
    {
        await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("CUR", Content: "Date,Open,High,Low,Close,Adj Close,Volume\n" + Row));

        var problem = await ProblemAsync(await _app.Http.GetAsync("/v1/market/CUR/bars?cursor=_z839HUoyis"), HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out _));
    }

    [Theory]
    [InlineData("{\"provider\":\"polygon\",\"symbol\":\"A\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-01-01\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"0001-01-01\",\"to\":\"2024-01-01\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"provider\":\"nope\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"provider\":\"polygon\",\"symbol\":\"../x\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"provider\":\"polygon\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}", HttpStatusCode.ServiceUnavailable)]
    [InlineData("{\"provider\":\"alphavantage\",\"symbol\":\"A\",\"from\":\"2024-01-01\",\"to\":\"2024-01-05\"}", HttpStatusCode.ServiceUnavailable)]
    public async Task PostFetch_MissingDatesOrNoApiKey_AnswersProblemNot502(string json, HttpStatusCode expected)
    {
        await ProblemAsync(await PostJsonAsync("/v1/market/fetches", json), expected);
    }
}
