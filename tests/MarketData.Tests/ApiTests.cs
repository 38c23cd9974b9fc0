using Platform.BuildingBlocks.PubSub;
using Platform.MarketData.Apis;
using Platform.MarketData.Import;
using Platform.MarketData.Replay;
using Platform.Quant.Synthetic;

namespace Platform.MarketData.Tests;

public sealed class ApiTests : IAsyncLifetime
{
    private ServiceApp _app = null!;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task InitializeAsync() => _app = await ServiceApp.StartAsync();
    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static string Csv(string symbol, int bars, ulong seed = 3)
    {
        var rows = SyntheticMarket.Generate(new SyntheticMarketOptions { Symbols = [new SyntheticSymbol(symbol)], Bars = bars, Seed = seed })
            .Select(b => FormattableString.Invariant($"{b.Bar.Time:yyyy-MM-dd},{b.Bar.Open:R},{b.Bar.High:R},{b.Bar.Low:R},{b.Bar.Close:R},{b.Bar.Close:R},{b.Bar.Volume:R}"));
        return "Date,Open,High,Low,Close,Adj Close,Volume\n" + string.Join("\n", rows);
    }

    private Task<HttpResponseMessage> ImportAsync(string symbol, string csv, bool skipInvalid = false) =>
        _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest(symbol, Content: csv, SkipInvalid: skipInvalid));

    [Fact]
    public async Task PostImport_ValidCsv_Returns201AndBarsImportedIsDelivered()
    {
        var response = await ImportAsync("ACME", Csv("ACME", 50));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var report = (await response.Content.ReadFromJsonAsync<ImportReport>(Json))!;
        Assert.Equal(50L, report.Inserted);
        await _app.WaitForAsync(() => _app.Delivered.Any(e => e.Id == $"import:{report.ImportId}"), "BarsImported delivery");
        var e = _app.Delivered.Single(e => e.Type == nameof(BarsImported)).DataAs<BarsImported>();
        Assert.Equal(("ACME", "1d", 50L), (e.Symbol, e.Interval, e.Count));
    }

    [Fact]
    public async Task PostImport_InvalidRow_Returns422ProblemWithFileLineMessages()
    {
        var csv = Csv("BAD", 5) + "\n2030-01-01,1,0.5,0.9,1,1,1";

        var response = await ImportAsync("BAD", csv);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("upload:7: high 0.5 is below max(open, close) 1", problem.GetProperty("errors")[1].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Http.GetAsync("/v1/market/BAD/bars")).StatusCode);
    }

    [Fact]
    public async Task PostImport_ServerPathOutsideAllowedRoots_Returns400()
    {
        var response = await _app.Http.PostAsJsonAsync("/v1/market/imports", new ImportRequest("X", Path: "/etc/passwd"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task PostImport_MultipartUpload_Imports()
    {
        using var form = new MultipartFormDataContent { { new StringContent("UPL"), "symbol" }, { new StringContent(Csv("UPL", 10)), "file", "upl.csv" } };

        var response = await _app.Http.PostAsync("/v1/market/imports", form);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task GetSymbols_AfterImport_ListsCoverage()
    {
        await ImportAsync("COV", Csv("COV", 30));

        var symbols = await _app.Http.GetFromJsonAsync<List<SymbolInfo>>("/v1/market/symbols", Json);

        var cov = Assert.Single(symbols!, s => s.Symbol == "COV");
        Assert.Equal(30, Assert.Single(cov.Intervals).Count);
    }

    [Fact]
    public async Task GetBars_WithLimitAndCursor_PagesThroughEveryBarOnce()
    {
        await ImportAsync("PAGE", Csv("PAGE", 25));
        var times = new List<DateTimeOffset>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _app.Http.GetFromJsonAsync<BarsPage>($"/v1/market/PAGE/bars?interval=1d&limit=10{(cursor is null ? "" : "&cursor=" + cursor)}", Json);
            times.AddRange(page!.Bars.Select(b => b.Time));
            cursor = page.NextCursor;
            pages++;
        } while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(25, times.Distinct().Count());
    }

    [Fact]
    public async Task GetBars_AcceptTextCsv_ReturnsCsv()
    {
        await ImportAsync("CSV", Csv("CSV", 3));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/market/CSV/bars");
        request.Headers.Accept.ParseAdd("text/csv");

        var response = await _app.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("time,open,high,low,close,volume,adj_close,vwap\n", text);
        Assert.Equal(4, text.Trim().Split('\n').Length);
        Assert.Equal(text, await _app.Http.GetStringAsync("/v1/market/CSV/bars?format=csv"));
    }

    [Theory]
    [InlineData("/v1/market/NOPE/bars", HttpStatusCode.NotFound)]
    [InlineData("/v1/market/ERR/bars?interval=7x", HttpStatusCode.BadRequest)]
    [InlineData("/v1/market/ERR/bars?from=2024-02-01&to=2024-01-01", HttpStatusCode.BadRequest)]
    [InlineData("/v1/market/ERR/bars?limit=0", HttpStatusCode.BadRequest)]
    [InlineData("/v1/market/ERR/bars?cursor=%%%", HttpStatusCode.BadRequest)]
    public async Task GetBars_BadQuery_ReturnsProblemDetails(string url, HttpStatusCode expected)
    {
        await ImportAsync("ERR", Csv("ERR", 3));

        var response = await _app.Http.GetAsync(url);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PostReplay_StoredRangeAsFastAsPossible_PublishesBarClosedInTimeOrderWithReplayId()
    {
        await ImportAsync("RA", Csv("RA", 40, seed: 1));
        await ImportAsync("RB", Csv("RB", 40, seed: 2));

        var response = await _app.Http.PostAsJsonAsync("/v1/market/replays", new ReplayRequest(Symbols: ["RA", "RB"], Interval: "1d", Speed: "max"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var state = (await response.Content.ReadFromJsonAsync<ReplayState>(Json))!;
        await _app.WaitForAsync(() => _app.Delivered.Count(e => e.Type == nameof(BarClosed)) >= 80, "80 BarClosed deliveries");
        // Deliveries can overtake the replay's last checkpoint: wait for the replay to record its end.
        await _app.WaitForAsync(() => _app.Http.GetFromJsonAsync<ReplayState>($"/v1/market/replays/{state.Id}", Json).Result?.Status
            is not ReplayStatus.Running, "the replay's end");

        var final = await _app.Http.GetFromJsonAsync<ReplayState>($"/v1/market/replays/{state.Id}", Json);
        Assert.Equal((ReplayStatus.Completed, 80L, 80L), (final!.Status, final.Published, final.Total));
        var closed = _app.Delivered.Where(e => e.Type == nameof(BarClosed)).Select(e => e.DataAs<BarClosed>()).ToList();
        Assert.All(closed, b => Assert.Equal(state.Id, b.ReplayId));
        Assert.True(closed.Zip(closed.Skip(1)).All(p => p.First.Time <= p.Second.Time), "time order across symbols");
        Assert.Equal(80, closed.Select(b => (b.Symbol, b.Time)).Distinct().Count());
        // The bars were stored already: their events went straight to the bus, none through the outbox (pending or sent;
        // the imports' own BarsImported events do go through it, and may still be pending).
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_app.DataDir, "bars.db")};Mode=ReadOnly"))
        {
            await db.OpenAsync();
            using var count = db.CreateCommand();
            count.CommandText = $"SELECT sum(type = '{nameof(BarClosed)}'), sum(type = '{nameof(BarsImported)}') FROM outbox";
            await using var row = await count.ExecuteReaderAsync();
            Assert.True(await row.ReadAsync());
            Assert.Equal((0L, 2L), (row.GetInt64(0), row.GetInt64(1)));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Http.GetAsync("/v1/market/replays/none")).StatusCode);
    }

    [Fact]
    public async Task Replay_StoppedMidway_ResumesFromCheckpointAfterRestart()
    {
        var file = Path.Combine(_app.DataDir, "replay.csv");
        await File.WriteAllTextAsync(file, Csv("RES", 30));
        var replays = _app.Services.GetRequiredService<ReplayService>();
        // 1000000x: one day of market time takes 86 ms, so stopping after a few bars leaves it midway.
        var state = await replays.StartAsync(new ReplayRequest(Path: file, Symbol: "RES", Interval: "1d", Speed: "1000000x"));
        await _app.WaitForAsync(() => replays.GetAsync(state.Id).Result is { } s && (s.Published >= 3 || s.Status != ReplayStatus.Running), "a few replayed bars");
        Assert.Null((await replays.GetAsync(state.Id))!.Error);
        await replays.StopAllAsync();
        var paused = (await replays.GetAsync(state.Id))!;
        Assert.Equal(ReplayStatus.Running, paused.Status);
        Assert.InRange(paused.Published, 3, 29);
        await _app.RestartAsync();
        var resumed = _app.Services.GetRequiredService<ReplayService>();
        await _app.WaitForAsync(() => resumed.GetAsync(state.Id).Result?.Status == ReplayStatus.Completed, "the resumed replay", 60);

        var done = (await resumed.GetAsync(state.Id))!;
        Assert.Equal(30L, done.Published);
        await _app.WaitForAsync(() => _app.Delivered.Count(e => e.Type == nameof(BarClosed)) >= 30 - paused.Published, "the rest of the events");
    }
}
