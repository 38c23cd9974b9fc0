using Platform.BuildingBlocks.PubSub;
using Platform.Modeling.Datasets;
using Platform.Modeling.Models;
using Platform.Serving.Apis;
using Platform.Serving.Events;

namespace Platform.Serving.Tests;

public sealed class PredictionsApiTests : IAsyncLifetime
{
    private ServingHost _host = null!;
    private IModel _xgb = null!;

    public async Task InitializeAsync()
    {
        _xgb = ServingHost.XGBoostModel();
        _host = await ServingHost.StartAsync(async registry =>
        {
            await ServingHost.RegisterAndPromoteAsync(registry, "constant", ServingHost.ConstantModel(0.25));
            await ServingHost.RegisterAndPromoteAsync(registry, "trees", _xgb.ToArtifact(), ModelKinds.XGBoost);
        });
    }

    public async Task DisposeAsync()
    {
        _xgb.Dispose();
        await _host.DisposeAsync();
    }

    private Task<HttpResponseMessage> PostAsync(string path, object body) => _host.Http.PostAsJsonAsync(_host.Url + path, body);

    private Task<HttpResponseMessage> PostRawAsync(string path, string json) =>
        _host.Http.PostAsync(_host.Url + path, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Start_ChampionsInRegistry_AreLoadedAndListed()
    {
        var status = await _host.Http.GetFromJsonAsync<JsonElement>(_host.Url + "/v1/serving/models");
        var models = status.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(1, models["constant"].GetProperty("version").GetInt32());
        Assert.Equal("xgboost", models["trees"].GetProperty("kind").GetString());
        Assert.Equal(3, models["trees"].GetProperty("featureCount").GetInt32());
    }

    [Fact]
    public async Task Predict_SuppliedFeatures_MatchesTheModel()
    {
        float[] row = [0.5f, -0.25f, 0.1f];
        var expected = _xgb.Predict(new FeatureFrame(row, 1, ServingHost.FeatureNames))[0];
        var response = await PostAsync("/v1/predictions", new { model = "trees", symbol = "AAA", features = row.Select(v => (double)v) });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = (await response.Content.ReadFromJsonAsync<PredictionResponse>())!;
        Assert.Equal(expected, p.Prediction, 6);
        Assert.Equal(("trees", 1, "return", 5, "request"), (p.Model, p.Version, p.Target, p.Horizon, p.FeatureSource));
    }

    [Fact]
    public async Task Predict_FeaturesFromOnlineStore_CarriesFeatureTimeAndStaleness()
    {
        var time = DateTimeOffset.UtcNow.AddMinutes(-10);
        await _host.PutFeaturesAsync("BBB", [0.5, -0.25, 0.1], time);
        var response = await PostAsync("/v1/predictions", new { model = "trees", symbol = "BBB", interval = "1d" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = (await response.Content.ReadFromJsonAsync<PredictionResponse>())!;
        Assert.Equal("online-store", p.FeatureSource);
        Assert.Equal(time, p.FeatureTime!.Value, TimeSpan.FromMilliseconds(1));
        Assert.InRange(p.StalenessSeconds!.Value, 590, 700);
        Assert.Equal(_xgb.Predict(new FeatureFrame([0.5f, -0.25f, 0.1f], 1, ServingHost.FeatureNames))[0], p.Prediction, 6);
    }

    [Fact]
    public async Task Predict_Success_PublishesPredictionMadeBeforeAnswering()
    {
        var events = _host.Services.GetRequiredService<PredictionEvents>();
        var before = events.Published;
        var response = await PostAsync("/v1/predictions", new { model = "constant", symbol = "AAA", features = new[] { 1.0, 2.0, 3.0 }, requestId = "req-1" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Published durably before the answer: no waiting.
        Assert.True(events.Published > before);
    }

    [Fact]
    public async Task PredictBatch_ManySymbols_OneVersionAndPerSymbolErrors()
    {
        var time = DateTimeOffset.UtcNow;
        await _host.PutFeaturesAsync("C1", [0.1, 0.2, 0.3], time);
        await _host.PutFeaturesAsync("C2", [0.3, 0.2, 0.1], time);
        var response = await PostAsync("/v1/predictions/batch", new { model = "trees", symbols = new[] { "C1", "C2", "NOPE" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<BatchPredictionResponse>())!;
        Assert.Equal(["C1", "C2"], batch.Predictions.Select(p => p.Symbol));
        Assert.All(batch.Predictions, p => Assert.Equal(batch.Version, p.Version));
        var error = Assert.Single(batch.Errors);
        Assert.Equal(("NOPE", 404), (error.Symbol, error.Status));
    }

    [Theory]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,2]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,null,3]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,"NaN",3]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,2,3,4]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,1e400,3]}""")]
    [InlineData("""{"model":"trees","symbol":"","features":[1,2,3]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","interval":"every day","features":[1,2,3]}""")]
    [InlineData("""{"model":"trees","symbol":"AAA","features":[1,2,3]""")]
    [InlineData("""not json""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""null""")]
    public async Task Predict_BadInput_Returns400ProblemDetails(string body)
    {
        var response = await PostRawAsync("/v1/predictions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/v1/predictions")]
    [InlineData("/v1/predictions/batch")]
    public async Task Predict_BodyThatIsNotJson_Returns415ProblemWithTheReason(string path)
    {
        var response = await _host.Http.PostAsync(_host.Url + path, new StringContent("""{"model":"trees","symbol":"AAA"}""", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("'text/plain", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Predict_UnknownModel_Returns404ProblemDetails()
    {
        var response = await PostAsync("/v1/predictions", new { model = "no-such-model", symbol = "AAA", features = new[] { 1.0, 2.0, 3.0 } });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Predict_UnknownSymbol_Returns404ProblemDetails()
    {
        var response = await PostAsync("/v1/predictions", new { model = "trees", symbol = "ZZZ" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("ZZZ", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Predict_StoredVectorFromAnotherDefinition_Returns409()
    {
        await _host.PutFeaturesAsync("DDD", [0.1, 0.2, 0.3], DateTimeOffset.UtcNow, setHash: "some-other-hash");
        var response = await PostAsync("/v1/predictions", new { model = "trees", symbol = "DDD" });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"model":"trees","items":[null]}""", "items")]
    [InlineData("""{"model":"trees","items":[{"symbol":"AAA","features":[1,2,3]},null,null]}""", "items")]
    [InlineData("""{"model":"trees","symbols":[null]}""", "symbols")]
    [InlineData("""{"model":"trees","items":[{"symbol":null}]}""", "symbols")]
    public async Task PredictBatch_NullItemOrSymbol_Returns400NamingTheField(string body, string field)
    {
        var response = await PostRawAsync("/v1/predictions/batch", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task PredictBatch_EmptyOrDuplicate_Returns400()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("/v1/predictions/batch", new { model = "trees", symbols = Array.Empty<string>() })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("/v1/predictions/batch", new { model = "trees", symbols = new[] { "A", "A" } })).StatusCode);
    }

    [Fact]
    public async Task Predict_NoModelNamedWithTwoServed_Returns400()
    {
        var response = await PostAsync("/v1/predictions", new { symbol = "AAA", features = new[] { 1.0, 2.0, 3.0 } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
