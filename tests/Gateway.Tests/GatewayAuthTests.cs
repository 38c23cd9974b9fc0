using Platform.BuildingBlocks;
using Platform.BuildingBlocks.State;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>The gateway over real HTTP in front of an echo backend: authentication, scopes, limits, headers.</summary>
public sealed class GatewayAuthTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(new Dictionary<string, string?>
    {
        ["Gateway:RateLimits:Tiers:tiny:Capacity"] = "3",
        ["Gateway:RateLimits:Tiers:tiny:TokensPerPeriod"] = "1",
        ["Gateway:RateLimits:Tiers:tiny:Period"] = "00:01:00",
        ["Gateway:MaxRequestBodyBytes"] = "1024",
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key = null, string? bearer = null, HttpContent? content = null,
        Action<HttpRequestMessage>? configure = null)
    {
        var request = _host.Request(method, path, key, bearer, content);
        configure?.Invoke(request);
        return await _host.Http.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Proxy_NoCredentials_Returns401ProblemDetails()
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/market/symbols");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(401, (await ProblemAsync(response)).GetProperty("status").GetInt32());
        Assert.Contains("X-Api-Key", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData("not-a-key")]
    [InlineData("pk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Proxy_UnknownOrMalformedKey_Returns401(string key)
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/market/symbols", key);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await ProblemAsync(response);
    }

    [Fact]
    public async Task Proxy_RightIdWrongSecret_Returns401()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var tampered = key[..^2] + (key[^2] == 'A' ? "BB" : "AA");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v1/market/symbols", key)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v1/market/symbols", tampered)).StatusCode);
    }

    [Fact]
    public async Task Proxy_RouteOutsideScopes_Returns403NamingTheScope()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var response = await SendAsync(HttpMethod.Post, "/v1/market/bars", key, content: JsonContent.Create(new { }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("market:write", (await ProblemAsync(response)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, "/v1/predictions", key, content: JsonContent.Create(new { }))).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v1/market/bars", "market:read")]
    [InlineData("POST", "/v1/market/import", "market:write")]
    [InlineData("GET", "/v1/features/latest", "features:read")]
    [InlineData("GET", "/v1/models/m1", "models:read")]
    [InlineData("POST", "/v1/models/m1/versions/2/promote", "models:write")]
    [InlineData("POST", "/v1/training-runs", "models:write")]
    [InlineData("POST", "/v1/predictions", "predictions:write")]
    [InlineData("POST", "/v1/predictions/batch", "predictions:write")]
    [InlineData("POST", "/v1/backtests", "backtests:write")]
    public async Task Proxy_RouteWithItsScope_IsForwarded(string method, string path, string scope)
    {
        var key = await _host.CreateKeyAsync("standard", scope);
        var other = await _host.CreateKeyAsync("standard", scope == Scopes.MarketRead ? Scopes.FeaturesRead : Scopes.MarketRead);
        HttpContent? Body() => method == "GET" ? null : JsonContent.Create(new { });
        var response = await SendAsync(new HttpMethod(method), path, key, content: Body());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(path, (await response.Content.ReadFromJsonAsync<EchoReply>())!.Path);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(new HttpMethod(method), path, other, content: Body())).StatusCode);
    }

    [Fact]
    public async Task Proxy_AdminScope_SatisfiesEveryRoute()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.Admin);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/market/bars", key, content: JsonContent.Create(new { }))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v1/models", key)).StatusCode);
    }

    [Fact]
    public async Task Proxy_ForgedPrincipal_IsStrippedAndReplacedByTheCaller()
    {
        var created = await _host.Keys.CreateAsync("reader", "standard", [Scopes.MarketRead, Scopes.FeaturesRead]);
        var response = await SendAsync(HttpMethod.Get, "/v1/market/bars", created.Token,
            configure: r => r.Headers.Add("X-Principal", "api-key:admin; scopes=admin"));
        var echo = (await response.Content.ReadFromJsonAsync<EchoReply>())!;
        Assert.Equal($"api-key:{created.Key.Id}; scopes=market:read features:read", echo.Headers["X-Principal"]);
        Assert.False(echo.Headers.ContainsKey("X-Api-Key"));
    }

    [Fact]
    public async Task Proxy_AnonymousRoute_ForwardsACallerWithAKeyAsItselfAndOneWithoutAsNobody()
    {
        var created = await _host.Keys.CreateAsync("reader", "standard", [Scopes.MarketRead]);
        var withKey = await SendAsync(HttpMethod.Get, "/openapi/serving/v1.json", created.Token);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
        Assert.Equal($"api-key:{created.Key.Id}; scopes=market:read", (await withKey.Content.ReadFromJsonAsync<EchoReply>())!.Headers["X-Principal"]);
        Assert.True(withKey.Headers.Contains("RateLimit-Limit"));

        var without = await SendAsync(HttpMethod.Get, "/openapi/serving/v1.json",
            configure: r => r.Headers.Add("X-Principal", "api-key:admin; scopes=admin"));
        Assert.Equal(HttpStatusCode.OK, without.StatusCode);
        Assert.False((await without.Content.ReadFromJsonAsync<EchoReply>())!.Headers.ContainsKey("X-Principal"));
        Assert.False(without.Headers.Contains("RateLimit-Limit"));
    }

    [Fact]
    public async Task Health_CompatibilityAlias_AnswersReadinessAnonymously()
    {
        var response = await SendAsync(HttpMethod.Get, "/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_ForgedPrincipalWithoutCredentials_AnswersAnonymously()
    {
        var response = await SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/health/live", "pk_garbage")).StatusCode);
    }

    [Fact]
    public async Task Proxy_BucketEmpty_Returns429WithRetryAfterAndRateLimitHeaders()
    {
        var key = await _host.CreateKeyAsync("tiny", Scopes.MarketRead);
        for (var i = 0; i < 3; i++)
        {
            var ok = await SendAsync(HttpMethod.Get, "/v1/market/bars", key);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("3", ok.Headers.GetValues("RateLimit-Limit").Single());
            Assert.Equal((2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), ok.Headers.GetValues("RateLimit-Remaining").Single());
        }
        var refused = await SendAsync(HttpMethod.Get, "/v1/market/bars", key);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter.TotalSeconds, 1, 60);
        Assert.Equal("0", refused.Headers.GetValues("RateLimit-Remaining").Single());
        Assert.Equal("180", refused.Headers.GetValues("RateLimit-Reset").Single());
        Assert.Equal(429, (await ProblemAsync(refused)).GetProperty("status").GetInt32());
        // Another key has its own bucket.
        var other = await _host.CreateKeyAsync("tiny", Scopes.MarketRead);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v1/market/bars", other)).StatusCode);
    }

    [Fact]
    public async Task Proxy_BodyOverLimit_Returns413ProblemDetails()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.MarketWrite);
        var small = await SendAsync(HttpMethod.Post, "/v1/market/import", key, content: new ByteArrayContent(new byte[1024]));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(1024, (await small.Content.ReadFromJsonAsync<EchoReply>())!.BodyBytes);
        var large = await SendAsync(HttpMethod.Post, "/v1/market/import", key, content: new ByteArrayContent(new byte[1025]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Equal(413, (await ProblemAsync(large)).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Proxy_ChunkedBodyOverLimit_IsNotForwardedWhole()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.MarketWrite);
        var content = new StreamContent(new MemoryStream(new byte[64 * 1024]));
        var request = _host.Request(HttpMethod.Post, "/v1/market/import", key, content: content);
        request.Headers.TransferEncodingChunked = true;
        var response = await _host.Http.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, $"status {response.StatusCode}");
    }

    [Fact]
    public async Task Proxy_CorrelationId_IsForwardedAndEchoed()
    {
        var key = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var response = await SendAsync(HttpMethod.Get, "/v1/market/bars", key, configure: r => r.Headers.Add("X-Correlation-Id", "req-42"));
        Assert.Equal("req-42", response.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Equal("req-42", (await response.Content.ReadFromJsonAsync<EchoReply>())!.Headers["X-Correlation-Id"]);

        var generated = await SendAsync(HttpMethod.Get, "/v1/market/bars", key);
        var id = generated.Headers.GetValues("X-Correlation-Id").Single();
        Assert.False(string.IsNullOrWhiteSpace(id));
        Assert.Equal(id, (await generated.Content.ReadFromJsonAsync<EchoReply>())!.Headers["X-Correlation-Id"]);
        // Refusals carry it too.
        Assert.True((await SendAsync(HttpMethod.Get, "/v1/market/bars")).Headers.Contains("X-Correlation-Id"));
    }

    [Fact]
    public async Task Proxy_Refusal_ProblemNamesTheCorrelationIdItEchoes()
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/market/bars", configure: r => r.Headers.Add("X-Correlation-Id", "req-43"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("req-43", response.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Equal("req-43", (await ProblemAsync(response)).GetProperty("correlationId").GetString());
    }

    [Fact]
    public async Task Proxy_RevokedKey_Returns401AtOnce()
    {
        var created = await _host.Keys.CreateAsync("soon-revoked", "standard", [Scopes.MarketRead]);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v1/market/bars", created.Token)).StatusCode);
        await _host.Keys.RevokeAsync(created.Key.Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v1/market/bars", created.Token)).StatusCode);
    }

    [Fact]
    public async Task KeysApi_AdminCreatesAndRevokes_KeyWorksThenStops()
    {
        var admin = await _host.CreateKeyAsync("standard", Scopes.Admin);
        var created = await SendAsync(HttpMethod.Post, "/v1/keys", admin, content: JsonContent.Create(new { name = "svc", scopes = new[] { "market:read" } }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var token = body.GetProperty("token").GetString()!;
        var id = body.GetProperty("key").GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v1/market/bars", token)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, "/v1/keys", token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, "/v1/keys/" + id, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v1/market/bars", token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, "/v1/keys/0000000000000000", admin)).StatusCode);
    }

    [Fact]
    public async Task CreateAsync_Key_StoresOnlyTheSaltedDigest()
    {
        var created = await _host.Keys.CreateAsync("stored", "standard", [Scopes.MarketRead]);
        var item = await _host.Services.GetRequiredService<IStateStoreProvider>().PrivateStore().GetAsync("apikeys/" + created.Key.Id);
        var stored = System.Text.Encoding.UTF8.GetString(item!.Value.Span);
        var secret = created.Token[(4 + ApiKeyToken.IdLength)..];
        Assert.DoesNotContain(secret, stored);
        Assert.Contains("\"digest\"", stored);
        Assert.Contains("\"salt\"", stored);
    }

    [Fact]
    public async Task Jwt_RightIssuerAudienceAndScope_IsForwardedAsItsSubject()
    {
        var token = GatewayHost.Token([Scopes.ModelsRead, Scopes.MarketRead]);
        var response = await SendAsync(HttpMethod.Get, "/v1/models", bearer: token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("jwt:user-1; scopes=models:read market:read", (await response.Content.ReadFromJsonAsync<EchoReply>())!.Headers["X-Principal"]);
        Assert.True(response.Headers.Contains("RateLimit-Limit"));
    }

    [Fact]
    public async Task Jwt_ScopeMissing_Returns403()
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/models/m/promote", bearer: GatewayHost.Token([Scopes.ModelsRead]), content: JsonContent.Create(new { }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Jwt_Expired_Returns401()
    {
        var token = GatewayHost.Token([Scopes.ModelsRead], lifetime: TimeSpan.FromMinutes(1), notBefore: DateTime.UtcNow.AddMinutes(-10));
        var response = await SendAsync(HttpMethod.Get, "/v1/models", bearer: token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await ProblemAsync(response);
    }

    [Theory]
    [InlineData("https://other.test", GatewayHost.JwtAudience)]
    [InlineData(GatewayHost.JwtIssuer, "other-api")]
    public async Task Jwt_WrongIssuerOrAudience_Returns401(string issuer, string audience)
    {
        var response = await SendAsync(HttpMethod.Get, "/v1/models", bearer: GatewayHost.Token([Scopes.ModelsRead], issuer: issuer, audience: audience));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Jwt_TamperedSignature_Returns401()
    {
        var token = GatewayHost.Token([Scopes.Admin]);
        var tampered = token[..^4] + (token[^4] == 'a' ? "bbbb" : "aaaa");
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v1/models", bearer: tampered)).StatusCode);
    }

    [Fact]
    public async Task OpenApi_GatewayDocument_ListsRoutesWithTheirScopes()
    {
        var document = await _host.Http.GetFromJsonAsync<JsonElement>(_host.Url + "/openapi/v1.json");
        var paths = document.GetProperty("paths");
        var predictions = paths.GetProperty("/v1/predictions/{rest}").GetProperty("post");
        Assert.Contains("predictions:write", predictions.GetProperty("summary").GetString());
        Assert.True(paths.TryGetProperty("/v1/keys", out _));
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("ApiKey", out _));
    }

    [Theory]
    [InlineData("POST", "/predict", Scopes.PredictionsWrite, "/v1/predictions")]
    [InlineData("GET", "/model-info", Scopes.ModelsRead, "/v1/serving/models")]
    [InlineData("GET", "/models", Scopes.ModelsRead, "/v1/models")]
    public async Task CompatibilityRoute_WithItsScope_ReachesTheV1Path(string method, string path, string scope, string expected)
    {
        var token = GatewayHost.Token([scope]);
        var content = method == "POST" ? JsonContent.Create(new { model = "m", symbol = "AAA" }) : null;

        var response = await SendAsync(new HttpMethod(method), path, bearer: token, content: content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, (await response.Content.ReadFromJsonAsync<EchoReply>())!.Path);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(new HttpMethod(method), path, content: content)).StatusCode);
    }

    [Fact]
    public async Task OpenApi_ServiceDocument_IsReachableAnonymouslyThroughTheGateway()
    {
        var echo = await _host.Http.GetFromJsonAsync<EchoReply>(_host.Url + "/openapi/serving/v1.json");
        Assert.Equal("/openapi/v1.json", echo!.Path);
    }

    [Fact]
    public async Task DevelopmentKey_FirstRun_ReturnsAnAllScopesKeyThenNull()
    {
        var token = await DevelopmentKey.EnsureAsync(_host.Services);
        Assert.NotNull(token);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/backtests", token, content: JsonContent.Create(new { }))).StatusCode);
        Assert.Null(await DevelopmentKey.EnsureAsync(_host.Services));
        Assert.Single(await _host.Keys.ListAsync(), k => k.Name == DevelopmentKey.Name);
    }

    [Fact]
    public void ValidateRoutes_RouteWithoutPolicy_Throws()
    {
        var open = new Yarp.ReverseProxy.Configuration.RouteConfig { RouteId = "open", ClusterId = "c", Match = new() { Path = "/x" } };
        var ex = Assert.Throws<InvalidOperationException>(() => GatewayService.ValidateRoutes([open]));
        Assert.Contains("open", ex.Message);
    }
}
