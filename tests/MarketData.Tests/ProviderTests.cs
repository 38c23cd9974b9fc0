using System.Collections.Concurrent;
using Platform.BuildingBlocks.Secrets;
using Platform.MarketData.Providers;
using Platform.Quant;
using Platform.TestSupport;

namespace Platform.MarketData.Tests;

/// <summary>
/// The vendor clients against local fakes that answer in the vendors' documented formats:
/// Polygon aggregates, https://polygon.io/docs/stocks/get_v2_aggs_ticker__stocksticker__range__multiplier___timespan___from___to
/// (results with t/o/h/l/c/v/vw, next_url paging, 429 when over the plan's rate);
/// Alpha Vantage TIME_SERIES_DAILY, https://www.alphavantage.co/documentation/#daily
/// ("Time Series (Daily)" with "1. open" .. "5. volume"; "Error Message", and "Note"/"Information" when throttled).
/// </summary>
public sealed class ProviderTests : IAsyncLifetime
{
    private WebApplication _fake = null!;
    private string _url = "";
    private readonly ConcurrentQueue<string> _requests = new();
    private int _polygonCalls;
    private int _alphaCalls;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _fake = builder.Build();
        _fake.Use(async (ctx, next) => { _requests.Enqueue(ctx.Request.Path + ctx.Request.QueryString); await next(); });
        _fake.MapGet("/v2/aggs/ticker/{ticker}/range/1/day/{from}/{to}", (HttpContext ctx, string ticker, string? cursor, string? apiKey) =>
        {
            if (apiKey != "k") return Results.Json(new { status = "ERROR", request_id = "r", error = "Unknown API Key" }, statusCode: 401);
            if (Interlocked.Increment(ref _polygonCalls) == 1)
            {
                ctx.Response.Headers.RetryAfter = "1";
                return Results.Json(new { status = "ERROR", error = "You've exceeded the maximum requests per minute" }, statusCode: 429);
            }
            // 2024-01-02 and 2024-01-03 start at midnight New York (05:00 UTC); 2024-01-04 on the second page.
            return cursor is null
                ? Results.Json(new
                {
                    ticker, queryCount = 2, resultsCount = 2, adjusted = true, status = "OK", request_id = "a",
                    results = new[] { new { v = 100.0, vw = 10.2, o = 10.0, c = 10.5, h = 11.0, l = 9.5, t = 1704171600000L, n = 5 },
                                      new { v = 200.0, vw = 10.8, o = 10.5, c = 11.0, h = 11.5, l = 10.0, t = 1704258000000L, n = 6 } },
                    next_url = $"{_url}/v2/aggs/ticker/{ticker}/range/1/day/2024-01-04/2024-01-05?cursor=abc",
                })
                : Results.Json(new
                {
                    ticker, queryCount = 1, resultsCount = 1, adjusted = true, status = "OK", request_id = "b",
                    results = new[] { new { v = 300.0, vw = 11.1, o = 11.0, c = 11.2, h = 11.4, l = 10.9, t = 1704344400000L, n = 7 } },
                });
        });
        _fake.MapGet("/query", (string function, string symbol, string apikey) =>
        {
            if (symbol == "NOPE") return Results.Json(new Dictionary<string, object> { ["Error Message"] = "Invalid API call. Please retry or visit the documentation." });
            if (Interlocked.Increment(ref _alphaCalls) == 1)
                return Results.Json(new Dictionary<string, object> { ["Note"] = "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute." });
            return Results.Json(new Dictionary<string, object>
            {
                ["Meta Data"] = new Dictionary<string, string> { ["1. Information"] = "Daily Prices", ["2. Symbol"] = symbol, ["5. Time Zone"] = "US/Eastern" },
                ["Time Series (Daily)"] = new Dictionary<string, object>
                {
                    ["2024-01-03"] = new Dictionary<string, string> { ["1. open"] = "10.5", ["2. high"] = "11.5", ["3. low"] = "10.0", ["4. close"] = "11.0", ["5. volume"] = "200" },
                    ["2024-01-02"] = new Dictionary<string, string> { ["1. open"] = "10.0", ["2. high"] = "11.0", ["3. low"] = "9.5", ["4. close"] = "10.5", ["5. volume"] = "100" },
                },
            });
        });
        await _fake.StartAsync();
        _url = _fake.Address();
    }

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private sealed class Secrets(string? key) : ISecretStore
    {
        public Task<string?> GetSecretAsync(string k, CancellationToken ct = default) => Task.FromResult(k.EndsWith("-api-key") ? key : null);
    }

    private ProviderOptions Options(string? key = null) => new()
    {
        BaseUrl = _url, ApiKey = key, RequestsPerMinute = 0, MaxRetries = 3, InitialBackoff = TimeSpan.FromMilliseconds(20),
    };

    [Fact]
    public async Task Polygon_ThrottledThenPaged_RetriesAfterRetryAfterAndReadsEveryPage()
    {
        var provider = new PolygonProvider(new HttpClient(), Options(), new Secrets("k"), TimeProvider.System);
        var started = DateTime.UtcNow;

        var bars = await provider.FetchAsync("acme", BarInterval.OneDay, new DateOnly(2024, 1, 2), new DateOnly(2024, 1, 5));

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "waited for Retry-After: 1");
        Assert.Equal([new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), new(2024, 1, 3, 0, 0, 0, TimeSpan.Zero), new(2024, 1, 4, 0, 0, 0, TimeSpan.Zero)],
            bars.Select(b => b.Time));
        Assert.Equal(new Bar(bars[0].Time, 10.0, 11.0, 9.5, 10.5, 100, Vwap: 10.2), bars[0]);
        Assert.Contains(_requests, r => r.Contains("cursor=abc") && r.Contains("apiKey=k"));
    }

    [Fact]
    public async Task Polygon_BadKey_FailsWithTheVendorMessage()
    {
        var provider = new PolygonProvider(new HttpClient(), Options("wrong"), new Secrets(null), TimeProvider.System);
        Interlocked.Exchange(ref _polygonCalls, 5);

        var ex = await Assert.ThrowsAsync<ProviderException>(() => provider.FetchAsync("acme", BarInterval.OneDay, new DateOnly(2024, 1, 2), new DateOnly(2024, 1, 5)));

        Assert.Contains("Unknown API Key", ex.Message);
    }

    [Fact]
    public async Task Polygon_NoKeyAnywhere_FailsNamingTheSettings()
    {
        var provider = new PolygonProvider(new HttpClient(), Options(), new Secrets(null), TimeProvider.System);

        var ex = await Assert.ThrowsAsync<ProviderNotConfiguredException>(() => provider.FetchAsync("acme", BarInterval.OneDay, new DateOnly(2024, 1, 2), new DateOnly(2024, 1, 5)));

        Assert.Contains("polygon-api-key", ex.Message);
    }

    [Fact]
    public async Task AlphaVantage_ThrottleNoteThenData_RetriesAndMapsBarsInOrder()
    {
        var provider = new AlphaVantageProvider(new HttpClient(), Options("k"), new Secrets(null), TimeProvider.System);

        var bars = await provider.FetchAsync("IBM", BarInterval.OneDay, new DateOnly(2024, 1, 1), new DateOnly(2024, 1, 31));

        Assert.Equal(2, _alphaCalls);
        Assert.Equal(new Bar(new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero), 10.0, 11.0, 9.5, 10.5, 100), bars[0]);
        Assert.Equal(2, bars.Count);
    }

    [Fact]
    public async Task AlphaVantage_ErrorMessage_FailsWithoutRetry()
    {
        var provider = new AlphaVantageProvider(new HttpClient(), Options("k"), new Secrets(null), TimeProvider.System);

        var ex = await Assert.ThrowsAsync<ProviderException>(() => provider.FetchAsync("NOPE", BarInterval.OneDay, new DateOnly(2024, 1, 1), new DateOnly(2024, 1, 31)));

        Assert.Contains("Invalid API call", ex.Message);
        Assert.Single(_requests, r => r.Contains("symbol=NOPE"));
    }
}
