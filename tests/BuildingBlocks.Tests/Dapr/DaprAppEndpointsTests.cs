using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>A minimal app on a free loopback port that serves MapDaprEndpoints, as the sidecar sees it.</summary>
public sealed class DaprTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DaprTestApp(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
        Http = new HttpClient { BaseAddress = endpoint };
    }

    public Uri Endpoint { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<DaprTestApp> StartAsync(IDictionary<string, string?> settings, Action<IServiceCollection> configure, bool buildingBlocks = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        if (buildingBlocks)
            builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, AppTopology.MarketData.AppId), builder.Configuration);
        else
            builder.Services.GetOrAddSubscriptionRegistry();
        configure(builder.Services);
        var app = builder.Build();
        app.MapGet("/health/live", () => "live");
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/v1/market/ping", () => "pong");
        app.MapDaprEndpoints();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new DaprTestApp(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class DaprAppEndpointsTests
{
    private sealed class Scoped { public Guid Id { get; } = Guid.NewGuid(); }

    private static Task<DaprTestApp> App(EventHandlerDelegate handler, string? appToken = null, string topic = Topics.MarketBars) =>
        DaprTestApp.StartAsync(new Dictionary<string, string?> { ["APP_API_TOKEN"] = appToken }, services =>
        {
            services.AddScoped<Scoped>();
            services.AddRawEventHandler(topic, handler);
        });

    private static StringContent Envelope(string id = "bar:AAPL:1m:t", string type = "BarClosed", string data = """{"symbol":"AAPL"}""",
        string contentType = "application/cloudevents+json") =>
        new($$"""
            {"id":"{{id}}","source":"marketdata","type":"{{type}}","specversion":"1.0","datacontenttype":"application/json",
             "data":{{data}},"topic":"market-bars","pubsubname":"pubsub","time":"2024-01-02T14:30:00Z",
             "traceparent":"00-00000000000000000000000000000001-0000000000000001-01"}
            """, Encoding.UTF8, contentType);

    private static async Task<string?> StatusOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<string>();
    }

    [Fact]
    public async Task Subscribe_Registry_ServesDocumentedShape()
    {
        await using var app = await DaprTestApp.StartAsync(new Dictionary<string, string?>(), services =>
        {
            services.AddRawEventHandler(Topics.ModelPromoted, (_, _, _) => Task.FromResult(DeliveryResult.Success));
            services.AddEventHandler<BarClosed>((_, _, _, _) => Task.CompletedTask);
        });
        using var response = await app.Http.GetAsync("/dapr/subscribe");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var expected = JsonNode.Parse("""
            [{"pubsubname":"pubsub","topic":"market-bars","route":"/events/market-bars","deadLetterTopic":"market-bars-deadletter"},
             {"pubsubname":"pubsub","topic":"model-promoted","route":"/events/model-promoted","deadLetterTopic":"model-promoted-deadletter"}]
            """);
        var actual = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(JsonNode.DeepEquals(expected, actual), actual!.ToJsonString());
    }

    [Fact]
    public async Task Subscribe_NoSubscriptions_ServesEmptyArray()
    {
        await using var app = await DaprTestApp.StartAsync(new Dictionary<string, string?>(), _ => { });
        Assert.Equal("[]", await app.Http.GetStringAsync("/dapr/subscribe"));
    }

    [Fact]
    public async Task Deliver_CloudEvent_BuildsEventAndAnswersSuccess()
    {
        CloudEvent? received = null;
        await using var app = await App((_, e, _) =>
        {
            received = e;
            return Task.FromResult(DeliveryResult.Success);
        });
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope());
        Assert.Equal("SUCCESS", await StatusOf(response));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(received);
        Assert.Equal(("bar:AAPL:1m:t", "BarClosed", "marketdata", "market-bars", "pubsub"),
            (received.Id, received.Type, received.Source, received.Topic, received.PubSubName));
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 14, 30, 0, TimeSpan.Zero), received.Time);
        Assert.Equal("""{"symbol":"AAPL"}""", Encoding.UTF8.GetString(received.Data.Span));
    }

    [Theory]
    [InlineData(DeliveryResult.Success, "SUCCESS")]
    [InlineData(DeliveryResult.Retry, "RETRY")]
    [InlineData(DeliveryResult.Drop, "DROP")]
    public async Task Deliver_HandlerResult_AnswersMatchingStatus(DeliveryResult result, string expected)
    {
        await using var app = await App((_, _, _) => Task.FromResult(result));
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope());
        Assert.Equal(expected, await StatusOf(response));
    }

    [Fact]
    public async Task Deliver_HandlerThrows_AnswersRetry()
    {
        await using var app = await App((_, _, _) => throw new TimeoutException("store busy"));
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope());
        Assert.Equal("RETRY", await StatusOf(response));
    }

    [Theory]
    [InlineData("{not json", "application/cloudevents+json")]
    [InlineData("""{"type":"BarClosed","specversion":"1.0","data":{}}""", "application/cloudevents+json")]
    [InlineData("""{"id":"x","specversion":"1.0","data":{}}""", "application/cloudevents+json")]
    [InlineData("""{"id":"x","type":"T","specversion":"1.0","time":"yesterday"}""", "application/cloudevents+json")]
    [InlineData("""{"id":"x","type":"T","specversion":"1.0","data_base64":"***"}""", "application/cloudevents+json")]
    [InlineData("""[1,2]""", "application/cloudevents+json")]
    [InlineData("hello", "text/plain")]
    public async Task Deliver_MalformedDelivery_AnswersDropWithoutCallingHandler(string body, string contentType)
    {
        var called = false;
        await using var app = await App((_, _, _) =>
        {
            called = true;
            return Task.FromResult(DeliveryResult.Success);
        });
        using var response = await app.Http.PostAsync("/events/market-bars", new StringContent(body, Encoding.UTF8, contentType));
        Assert.Equal("DROP", await StatusOf(response));
        Assert.False(called);
    }

    [Fact]
    public async Task Deliver_TypedHandlerWithBadData_AnswersDrop()
    {
        await using var app = await DaprTestApp.StartAsync(new Dictionary<string, string?>(),
            services => services.AddEventHandler<BarClosed>((_, _, _, _) => Task.CompletedTask));
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope(data: "\"not a bar\""));
        Assert.Equal("DROP", await StatusOf(response));
    }

    [Fact]
    public async Task Deliver_TypedHandler_ReceivesThePayload()
    {
        BarClosed? received = null;
        await using var app = await DaprTestApp.StartAsync(new Dictionary<string, string?>(),
            services => services.AddEventHandler<BarClosed>((_, bar, _, _) =>
            {
                received = bar;
                return Task.CompletedTask;
            }));
        using var response = await app.Http.PostAsync("/events/market-bars",
            Envelope(data: """{"symbol":"MSFT","interval":"1m","time":"2024-01-02T14:30:00Z","open":1,"high":2,"low":0.5,"close":1.5,"volume":10}"""));
        Assert.Equal("SUCCESS", await StatusOf(response));
        Assert.Equal(("MSFT", 1.5), (received!.Symbol, received.Close));
    }

    [Fact]
    public async Task Deliver_PlainJsonPayload_AcceptedWithStableId()
    {
        var ids = new List<string>();
        await using var app = await App((_, e, _) =>
        {
            ids.Add(e.Id);
            Assert.Equal("""{"symbol":"AAPL"}""", Encoding.UTF8.GetString(e.Data.Span));
            return Task.FromResult(DeliveryResult.Success);
        });
        for (var i = 0; i < 2; i++)
        {
            using var response = await app.Http.PostAsync("/events/market-bars", new StringContent("""{"symbol":"AAPL"}""", Encoding.UTF8, "application/json"));
            Assert.Equal("SUCCESS", await StatusOf(response));
        }
        Assert.Equal(2, ids.Count);
        Assert.Equal(ids[0], ids[1]);
    }

    [Fact]
    public async Task Deliver_PlainJsonContentTypeCarryingEnvelope_ReadsEnvelope()
    {
        string? id = null;
        await using var app = await App((_, e, _) =>
        {
            id = e.Id;
            return Task.FromResult(DeliveryResult.Success);
        });
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope(contentType: "application/json"));
        Assert.Equal("SUCCESS", await StatusOf(response));
        Assert.Equal("bar:AAPL:1m:t", id);
    }

    [Fact]
    public async Task Deliver_Base64Data_Decoded()
    {
        string? data = null;
        await using var app = await App((_, e, _) =>
        {
            data = Encoding.UTF8.GetString(e.Data.Span);
            return Task.FromResult(DeliveryResult.Success);
        });
        var body = $$"""{"id":"r1","type":"com.dapr.event.sent","specversion":"1.0","datacontenttype":"application/octet-stream","data_base64":"{{Convert.ToBase64String("{\"a\":1}"u8.ToArray())}}"}""";
        using var response = await app.Http.PostAsync("/events/market-bars", new StringContent(body, Encoding.UTF8, "application/cloudevents+json"));
        Assert.Equal("SUCCESS", await StatusOf(response));
        Assert.Equal("""{"a":1}""", data);
    }

    [Fact]
    public async Task Deliver_Handler_RunsInItsOwnScope()
    {
        var seen = new List<Guid>();
        await using var app = await App((sp, _, _) =>
        {
            seen.Add(sp.GetRequiredService<Scoped>().Id);
            return Task.FromResult(DeliveryResult.Success);
        });
        using (await app.Http.PostAsync("/events/market-bars", Envelope())) { }
        using (await app.Http.PostAsync("/events/market-bars", Envelope())) { }
        Assert.Equal(2, seen.Distinct().Count());
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("wrong", HttpStatusCode.Unauthorized)]
    [InlineData("app-token", HttpStatusCode.OK)]
    public async Task Token_AppApiTokenSet_RequiredOnSubscribeAndDelivery(string? sent, HttpStatusCode expected)
    {
        await using var app = await App((_, _, _) => Task.FromResult(DeliveryResult.Success), appToken: "app-token");
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/dapr/subscribe"), (HttpMethod.Post, "/events/market-bars"), (HttpMethod.Get, "/dapr/config") })
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? Envelope() : null };
            if (sent is not null) request.Headers.Add("dapr-api-token", sent);
            using var response = await app.Http.SendAsync(request);
            var status = path == "/dapr/config" && expected == HttpStatusCode.OK ? HttpStatusCode.NotFound : expected;
            Assert.Equal(status, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/healthz")]
    [InlineData("/v1/market/ping")]
    public async Task Token_AppApiTokenSet_HealthAndApiExempt(string path)
    {
        await using var app = await App((_, _, _) => Task.FromResult(DeliveryResult.Success), appToken: "app-token");
        using var response = await app.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Token_NoAppApiToken_NoCheck()
    {
        await using var app = await App((_, _, _) => Task.FromResult(DeliveryResult.Success));
        using var response = await app.Http.PostAsync("/events/market-bars", Envelope());
        Assert.Equal("SUCCESS", await StatusOf(response));
    }

    [Fact]
    public async Task Deliver_VerdictAsFakeSidecarReadsIt_MatchesReferenceTable()
    {
        // §3.6 rows as the fake applies them to the app's answers.
        Assert.Equal(DeliveryVerdict.Success, FakeSidecar.Verdict(HttpStatusCode.OK, ""));
        Assert.Equal(DeliveryVerdict.Success, FakeSidecar.Verdict(HttpStatusCode.OK, "ok"));
        Assert.Equal(DeliveryVerdict.Success, FakeSidecar.Verdict(HttpStatusCode.OK, "{}"));
        Assert.Equal(DeliveryVerdict.RetryableError, FakeSidecar.Verdict(HttpStatusCode.OK, """{"status":"success"}"""));
        Assert.Equal(DeliveryVerdict.DroppedNotFound, FakeSidecar.Verdict(HttpStatusCode.NotFound, ""));
        Assert.Equal(DeliveryVerdict.RetryableError, FakeSidecar.Verdict(HttpStatusCode.InternalServerError, """{"status":"SUCCESS"}"""));
    }
}
