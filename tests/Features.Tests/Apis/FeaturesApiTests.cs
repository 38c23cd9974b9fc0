using Platform.BuildingBlocks.PubSub;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Features.Tests.Apis;

/// <summary>The HTTP API over real Kestrel, on data streamed and imported through the pipeline.</summary>
public sealed class FeaturesApiTests : IAsyncLifetime
{
    private static readonly string[] Sets = [FeatureSets.Alpha158V1.Id];
    private readonly HttpClient _http = new();
    private FeaturesApp _app = null!;
    private IReadOnlyList<Bar> _bars = [];

    public async Task InitializeAsync()
    {
        // Only alpha158@1 is computed here, so indicators@1 is "known but not computed".
        _app = await FeaturesApp.StartAsync(settings: new Dictionary<string, string?> { ["Features:Sets"] = "alpha158@1" });
        _bars = TestBars.Daily(70);
        await _app.StoreAsync("MSFT", _bars);
        await _app.Publisher.PublishAsync(new BarsImported("api-1", "MSFT", "1d", _bars[0].Time, _bars[^1].Time, _bars.Count));
        await _app.StoreAsync("BARSONLY", TestBars.Daily(3));
        await _app.WaitForLatestAsync("MSFT", _bars[^1].Time, Sets);
        _http.BaseAddress = new Uri(_app.Url);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    private async Task<JsonElement> ProblemAsync(string url, HttpStatusCode status)
    {
        var response = await _http.GetAsync(url);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task GetLatest_ComputedSymbol_ReturnsTheLastVectorWithNamesAndHash()
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("/v1/features/MSFT/latest");
        var set = FeatureSets.Alpha158V1;
        Assert.Equal("alpha158@1", body.GetProperty("set").GetString());
        Assert.Equal(set.Hash, body.GetProperty("setHash").GetString());
        Assert.Equal(_bars[^1].Time, body.GetProperty("time").GetDateTimeOffset());
        Assert.Equal(set.Features, body.GetProperty("names").EnumerateArray().Select(n => n.GetString()!));
        var expected = ExpectedFeatures.Compute("MSFT", BarInterval.OneDay, set, _bars).Values[^1];
        var values = body.GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToList();
        TestBars.Identical(expected, values, "latest over HTTP");
    }

    [Fact]
    public async Task GetHistory_Range_ReturnsRowsFromInclusiveToExclusive()
    {
        var from = _bars[10].Time;
        var to = _bars[20].Time;
        var body = await _http.GetFromJsonAsync<JsonElement>($"/v1/features/MSFT?set=alpha158@1&interval=1d&from={Uri.EscapeDataString(from.ToString("o"))}&to={Uri.EscapeDataString(to.ToString("o"))}");
        var times = body.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("time").GetDateTimeOffset()).ToList();
        Assert.Equal(_bars.Skip(10).Take(10).Select(b => b.Time), times);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("nextFrom").ValueKind);
    }

    [Fact]
    public async Task GetHistory_Limit_PagesWithNextFrom()
    {
        var first = await _http.GetFromJsonAsync<JsonElement>("/v1/features/MSFT?limit=50");
        Assert.Equal(50, first.GetProperty("rows").GetArrayLength());
        var next = first.GetProperty("nextFrom").GetDateTimeOffset();
        Assert.Equal(_bars[50].Time, next);
        var second = await _http.GetFromJsonAsync<JsonElement>($"/v1/features/MSFT?limit=50&from={Uri.EscapeDataString(next.ToString("o"))}");
        Assert.Equal(20, second.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task GetHistory_InvertedRange_Returns400()
    {
        var body = await ProblemAsync("/v1/features/MSFT?from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty("from", out _));
    }

    [Theory]
    [InlineData("/v1/features/NOPE/latest")]
    [InlineData("/v1/features/NOPE")]
    public async Task Get_UnknownSymbol_Returns404(string url)
    {
        var body = await ProblemAsync(url, HttpStatusCode.NotFound);
        Assert.Equal("Unknown symbol", body.GetProperty("title").GetString());
    }

    [Fact]
    public async Task GetLatest_SymbolWithBarsButNoFeatures_Returns404NoFeaturesYet()
    {
        var body = await ProblemAsync("/v1/features/BARSONLY/latest", HttpStatusCode.NotFound);
        Assert.Equal("No features yet", body.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("/v1/features/MSFT/latest?set=alpha999@1", HttpStatusCode.NotFound, "Unknown feature set")]
    [InlineData("/v1/features/MSFT?set=alpha158@7", HttpStatusCode.NotFound, "Unknown feature set")]
    [InlineData("/v1/features/MSFT/latest?set=indicators@1", HttpStatusCode.NotFound, "Feature set not computed")]
    [InlineData("/v1/features/MSFT/latest?set=alpha158", HttpStatusCode.BadRequest, "Invalid feature query")]
    [InlineData("/v1/features/MSFT/latest?set=alpha158@1&hash=0123abcd", HttpStatusCode.BadRequest, "Feature set mismatch")]
    [InlineData("/v1/features/MSFT/latest?interval=3y", HttpStatusCode.BadRequest, "Invalid feature query")]
    [InlineData("/v1/feature-sets/nope@1", HttpStatusCode.NotFound, "Unknown feature set")]
    [InlineData("/v1/feature-sets/nope", HttpStatusCode.BadRequest, "Invalid feature set id")]
    public async Task Get_BadFeatureSetOrQuery_ReturnsProblemDetails(string url, HttpStatusCode status, string title)
    {
        var body = await ProblemAsync(url, status);
        Assert.Equal(title, body.GetProperty("title").GetString());
        Assert.True(body.TryGetProperty("traceId", out _));
    }

    [Fact]
    public async Task GetLatest_MatchingHash_Returns200()
    {
        var response = await _http.GetAsync($"/v1/features/MSFT/latest?set=alpha158@1&hash={FeatureSets.Alpha158V1.Hash}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task GetFeatureSets_Always_ListsEveryKnownSetWithHashAndDefinition()
    {
        var sets = await _http.GetFromJsonAsync<JsonElement>("/v1/feature-sets");
        var byId = sets.EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.Equal(FeatureSets.Ids.Order(), byId.Keys.Order());
        foreach (var set in FeatureSets.All)
        {
            var info = byId[set.Id];
            Assert.Equal(set.Hash, info.GetProperty("hash").GetString());
            Assert.Equal(set.Definition, info.GetProperty("definition").GetString());
            Assert.Equal(set.Count, info.GetProperty("features").GetArrayLength());
            Assert.Equal(set.Id == "alpha158@1", info.GetProperty("computed").GetBoolean());
        }
        var one = await _http.GetFromJsonAsync<JsonElement>("/v1/feature-sets/indicators@1");
        Assert.Equal(FeatureSets.IndicatorsV1.Hash, one.GetProperty("hash").GetString());
    }
}
