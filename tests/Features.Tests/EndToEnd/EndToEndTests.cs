using System.Text;
using Platform.Host;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Tests.EndToEnd;

/// <summary>The whole embedded platform: bars imported through marketdata's API, features appear at the features API.</summary>
[Trait("Category", "Slow")]
public sealed class EndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("features-e2e-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private EmbeddedPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
    {
        DataDir = _dataDir,
        GatewayUrl = "http://127.0.0.1:0",
        EphemeralServicePorts = true,
        Settings = new Dictionary<string, string?> { ["MarketData:Demo:Enabled"] = "false" },
    });

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        _http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { }
    }

    [Fact]
    public async Task ImportThroughMarketData_FeaturesAppearAtTheFeaturesApi_EqualToBatch()
    {
        _http.DefaultRequestHeaders.Add(EmbeddedPlatform.AppTokenHeader, _platform.AppToken); // the services are called directly, as the gateway would
        var bars = TestBars.Daily(300, seed: 21);
        var csv = new StringBuilder("Date,Open,High,Low,Close,Adj Close,Volume\n");
        foreach (var b in bars)
            csv.Append(CultureInfo.InvariantCulture, $"{b.Time:yyyy-MM-dd},{b.Open:R},{b.High:R},{b.Low:R},{b.Close:R},{b.Close:R},{Math.Round(b.Volume)}\n");

        var clock = Stopwatch.StartNew();
        var import = await _http.PostAsJsonAsync(_platform.ServiceUrls["marketdata"] + "/v1/market/imports",
            new { symbol = "E2E", content = csv.ToString(), interval = "1d" });
        Assert.True(import.IsSuccessStatusCode, await import.Content.ReadAsStringAsync());

        var features = _platform.ServiceUrls["features"];
        JsonElement latest = default;
        while (clock.Elapsed < TimeSpan.FromSeconds(45))
        {
            var response = await _http.GetAsync(features + "/v1/features/E2E/latest?set=indicators@1");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                latest = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (latest.GetProperty("time").GetDateTimeOffset() == bars[^1].Time) break;
            }
            await Task.Delay(50);
        }
        output.WriteLine($"import of {bars.Count} bars to features at the API: {clock.ElapsedMilliseconds} ms");
        Assert.Equal(bars[^1].Time, latest.GetProperty("time").GetDateTimeOffset());

        // The stored history equals batch mode over marketdata's stored bars.
        var reader = _platform.Services("features").GetRequiredService<IBarReader>();
        foreach (var set in new[] { "alpha158@1", "indicators@1" })
        {
            var expected = (await ExpectedFeatures.ComputeAsync(reader, ["E2E"], BarInterval.OneDay, null, null, set))[0];
            Assert.Equal(bars.Count, expected.Count);
            var history = await _http.GetFromJsonAsync<JsonElement>(features + $"/v1/features/E2E?set={set}&limit=10000");
            var rows = history.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(expected.Times, rows.Select(r => r.GetProperty("time").GetDateTimeOffset()));
            for (var i = 0; i < rows.Count; i++)
            {
                var values = rows[i].GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToList();
                TestBars.Identical(expected.Values[i].Select(v => double.IsFinite(v) ? v : double.NaN).ToList(), values, $"{set} row {i}");
            }
        }
    }
}
