using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Platform.DaprSidecar.Testing;

/// <summary>A subscription as the app's <c>GET /dapr/subscribe</c> declared it; <see cref="Bulk"/> when it enabled <c>bulkSubscribe</c>.</summary>
public sealed record SidecarSubscription(string PubSub, string Topic, string Route, string? DeadLetterTopic, IReadOnlyDictionary<string, string> Metadata,
    BulkSubscribe? Bulk = null);

/// <summary>
/// A subscription's <c>bulkSubscribe</c> (§3.3): at most <see cref="MaxMessages"/> messages per delivery, sent once that many
/// are waiting or <see cref="MaxAwait"/> after the first was taken. daprd's defaults: 100 messages, 1 s.
/// </summary>
public sealed record BulkSubscribe(int MaxMessages, TimeSpan MaxAwait);

internal enum DeliveryOutcome { Success, Retry, Drop, DroppedNotFound }

/// <summary>
/// One daprd for one app instance, on real sockets: Dapr's gRPC API (<c>dapr.proto.runtime.v1.Dapr</c>, the methods in
/// <see cref="DaprGrpcApi"/>) on one loopback port, the HTTP outbound health probe and HTTP service invocation (see
/// <c>FaithfulSidecar.Invocation.cs</c>) on another, and deliveries to the app over HTTP as daprd makes them (CloudEvent
/// envelope with <c>traceparent</c>, <c>dapr-api-token</c> when <c>APP_API_TOKEN</c> is set, the answer read per the
/// SUCCESS/RETRY/DROP contract). Any gRPC method or HTTP route it does not implement, or a request it cannot read, is
/// recorded as a violation of the cluster and answered as daprd answers an unknown call (gRPC <c>Unimplemented</c>,
/// HTTP 404).
/// </summary>
public sealed partial class FaithfulSidecar : IAsyncDisposable
{
    private readonly SidecarCluster _cluster;
    private readonly HttpClient _appClient = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private ListenOptions? _grpcListen;
    private ListenOptions? _httpListen;
    private WebApplication? _app;
    private Uri? _appAddress;
    private volatile bool _stopped;

    internal FaithfulSidecar(SidecarCluster cluster, string appId)
    {
        _cluster = cluster;
        AppId = appId;
    }

    public string AppId { get; }
    public int GrpcPort { get; private set; }
    public int HttpPort { get; private set; }
    public List<SidecarSubscription> Subscriptions { get; } = [];
    internal SidecarCluster Cluster => _cluster;

    /// <summary>True once the app is connected (<see cref="ConnectAppAsync"/>) and until the sidecar stops: only then does
    /// service invocation resolve the app id to this sidecar.</summary>
    public bool AcceptsInvocations => _appAddress is not null && !_stopped;

    /// <summary>The configuration an app needs to reach this sidecar, as <c>dapr run</c> exports it.</summary>
    public Dictionary<string, string?> AppSettings() => new()
    {
        ["DAPR_GRPC_PORT"] = GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_HTTP_PORT"] = HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_API_TOKEN"] = _cluster.Options.ApiToken,
        ["APP_API_TOKEN"] = _cluster.Options.AppApiToken,
    };

    internal async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                _grpcListen = o;
            });
            k.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                _httpListen = o;
            });
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        builder.Services.AddSingleton<DaprGrpcApi>();
        _app = builder.Build();
        _app.Use(GateAsync);
        _app.MapGrpcService<DaprGrpcApi>();
        await _app.StartAsync();
        GrpcPort = _grpcListen!.IPEndPoint!.Port;
        HttpPort = _httpListen!.IPEndPoint!.Port;
    }

    private async Task GateAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            if (!DaprGrpcApi.MethodPaths.Contains(request.Path.Value ?? ""))
            {
                _cluster.Violation($"{AppId}: gRPC call {request.Path} is not a method this sidecar implements");
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "12";
                context.Response.Headers["grpc-message"] = "unknown method " + request.Path;
                return;
            }
            var method = request.Path.Value![(DaprGrpcApi.ServiceName.Length + 2)..];
            if (method == "BulkPublishEvent" && _cluster.Options.WithoutBulkPublish)
            {
                _cluster.ShouldFail(method);
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "12";
                context.Response.Headers["grpc-message"] = "unknown method BulkPublishEvent for service " + DaprGrpcApi.ServiceName;
                return;
            }
            if (_cluster.ShouldFail(method))
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "14";
                context.Response.Headers["grpc-message"] = "sidecar unavailable (injected)";
                return;
            }
            if (_cluster.Options.ApiToken is { } token && request.Headers["dapr-api-token"] != token)
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "16";
                context.Response.Headers["grpc-message"] = "authentication error: api token mismatch";
                return;
            }
            await next(context);
            return;
        }
        if (HttpMethods.IsGet(request.Method) && request.Path == "/v1.0/healthz/outbound")
        {
            // daprd exempts the health routes from DAPR_API_TOKEN.
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        if (_cluster.Options.ApiToken is { } apiToken)
        {
            // Every other route, service invocation included, needs the token; daprd drops the header once checked.
            if (request.Headers["dapr-api-token"] != apiToken)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsync("invalid api token\n");
                return;
            }
            request.Headers.Remove("dapr-api-token");
        }
        // Service invocation is daprd's fallback route: whatever no other route matched.
        if (InvocationTarget(request) is var (targetId, targetMethod))
        {
            await InvokeAsync(context, targetId, targetMethod);
            return;
        }
        _cluster.Violation($"{AppId}: HTTP {request.Method} {request.Path}{request.QueryString} is not a route this sidecar serves");
        await WriteErrorAsync(context, StatusCodes.Status404NotFound, "ERR_DIRECT_INVOKE",
            "failed getting app id either from the URL path or the header dapr-app-id");
    }

    /// <summary>
    /// Reads the app's subscriptions once (<c>GET /dapr/subscribe</c>, as daprd does after the app port opens) and joins
    /// each topic's consumer group for this app id.
    /// </summary>
    public async Task ConnectAppAsync(Uri appAddress)
    {
        _appAddress = appAddress;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(appAddress, "dapr/subscribe"));
        if (_cluster.Options.AppApiToken is { } token) request.Headers.Add("dapr-api-token", token);
        using var response = await _appClient.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.NotFound) return;
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            _cluster.Violation($"{AppId}: GET /dapr/subscribe answered {(int)response.StatusCode}");
            return;
        }
        JsonArray items;
        try
        {
            items = JsonNode.Parse(body) as JsonArray ?? throw new JsonException("not an array");
        }
        catch (JsonException ex)
        {
            _cluster.Violation($"{AppId}: GET /dapr/subscribe answered a body that is not a JSON array ({ex.Message}): {body}");
            return;
        }
        foreach (var item in items.OfType<JsonObject>())
        {
            // daprd reads the JSON with Go's case-insensitive field matching: "pubsubname" and the SDK's "pubsubName" both work.
            string? Field(string name) => item.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.GetValue<string>();
            var pubsub = Field("pubsubname");
            var topic = Field("topic");
            var routes = item.FirstOrDefault(p => string.Equals(p.Key, "routes", StringComparison.OrdinalIgnoreCase)).Value as JsonObject;
            var route = Field("route") ?? routes?["default"]?.GetValue<string>();
            if (pubsub is null || topic is null || route is null || _cluster.Component(pubsub)?.Type.StartsWith("pubsub.", StringComparison.Ordinal) != true)
            {
                _cluster.Violation(
                    $"{AppId}: /dapr/subscribe item not usable (pubsub, topic and a route on a loaded pub/sub are needed): {item.ToJsonString()}");
                continue;
            }
            var metadata = (item.FirstOrDefault(p => string.Equals(p.Key, "metadata", StringComparison.OrdinalIgnoreCase)).Value as JsonObject)?
                .ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? "") ?? [];
            if (metadata.Keys.Any(k => k != "rawPayload"))
                _cluster.Violation($"{AppId}: subscription metadata {string.Join(",", metadata.Keys)} for {topic} is not understood");
            var bulk = item.FirstOrDefault(p => string.Equals(p.Key, "bulkSubscribe", StringComparison.OrdinalIgnoreCase)).Value as JsonObject;
            int? Number(string name) => bulk?.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.GetValue<int>();
            var enabled = bulk?.FirstOrDefault(p => string.Equals(p.Key, "enabled", StringComparison.OrdinalIgnoreCase)).Value?.GetValue<bool>() == true;
            var subscription = new SidecarSubscription(pubsub, topic, route.StartsWith('/') ? route : "/" + route, Field("deadLetterTopic"), metadata,
                enabled ? new BulkSubscribe(Number("maxMessagesCount") is > 0 and var n ? n : 100,
                    TimeSpan.FromMilliseconds(Number("maxAwaitDurationMs") is > 0 and var ms ? ms : 1000)) : null);
            Subscriptions.Add(subscription);
            _cluster.Broker.Subscribe(this, subscription);
        }
    }

    internal async Task<DeliveryOutcome> DeliverAsync(SidecarSubscription subscription, BrokerMessage message, int attempt, CancellationToken stop)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_appAddress!, subscription.Route.TrimStart('/')))
        {
            Content = new StringContent(message.Envelope.ToJsonString(), Encoding.UTF8, "application/cloudevents+json"),
        };
        if (message.Envelope["traceparent"]?.GetValue<string>() is { } traceparent) request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        var (status, text, failure) = await SendToAppAsync(request, stop);
        var outcome = failure is null ? Classify(status, text) : DeliveryOutcome.Retry;
        _cluster.Broker.Record(new DeliveryAttempt(AppId, message.Topic, message.Id, attempt, status, failure ?? outcome.ToString()));
        return outcome;
    }

    /// <summary>
    /// Sends a delivery to the app with <c>dapr-api-token</c> when <c>APP_API_TOKEN</c> is set, within the delivery timeout.
    /// No answer (refused, reset, timed out) is a failure named as the attempt log shows it, status 0.
    /// </summary>
    private async Task<(int Status, string Text, string? Failure)> SendToAppAsync(HttpRequestMessage request, CancellationToken stop)
    {
        if (_cluster.Options.AppApiToken is { } token) request.Headers.Add("dapr-api-token", token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_cluster.Options.Delivery.Timeout);
        try
        {
            using var response = await _appClient.SendAsync(request, timeout.Token);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(timeout.Token), null);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !stop.IsCancellationRequested))
        {
            return (0, "", "RETRY (no answer: " + ex.GetType().Name + ")");
        }
    }

    /// <summary>
    /// One bulk delivery (§3.6): a plain JSON body (<c>application/json</c>, not a CloudEvent) wrapping each message's
    /// envelope as an entry with its own <c>entryId</c>. The answer gives one outcome per message: 2xx with a readable body
    /// takes each entry's status (SUCCESS, DROP; RETRY, an unknown or empty status, or no status for the entry: retry), an
    /// unreadable 2xx body retries all, 404 drops all without dead-lettering, anything else retries all.
    /// </summary>
    internal async Task<DeliveryOutcome[]> DeliverBulkAsync(SidecarSubscription subscription, IReadOnlyList<BrokerMessage> messages, int attempt,
        CancellationToken stop)
    {
        var entryIds = messages.Select(_ => Guid.NewGuid().ToString()).ToArray();
        var entries = new JsonArray();
        for (var i = 0; i < messages.Count; i++)
            entries.Add(new JsonObject
            {
                ["entryId"] = entryIds[i],
                ["event"] = messages[i].Envelope.DeepClone(),
                ["contentType"] = "application/cloudevents+json",
                ["metadata"] = new JsonObject(),
            });
        var envelope = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["type"] = "com.dapr.event.sent.bulk",
            ["topic"] = subscription.Topic,
            ["pubsubname"] = subscription.PubSub,
            ["metadata"] = new JsonObject(),
            ["entries"] = entries,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_appAddress!, subscription.Route.TrimStart('/')))
        {
            Content = new StringContent(envelope.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var (status, text, failure) = await SendToAppAsync(request, stop);
        var outcomes = failure is null ? ClassifyBulk(status, text, entryIds) : entryIds.Select(_ => DeliveryOutcome.Retry).ToArray();
        for (var i = 0; i < messages.Count; i++)
            _cluster.Broker.Record(new DeliveryAttempt(AppId, messages[i].Topic, messages[i].Id, attempt, status, failure ?? outcomes[i].ToString(), messages.Count));
        return outcomes;
    }

    private DeliveryOutcome[] ClassifyBulk(int status, string body, string[] entryIds)
    {
        var outcomes = entryIds.Select(_ => DeliveryOutcome.Retry).ToArray();
        if (status == 404) return entryIds.Select(_ => DeliveryOutcome.DroppedNotFound).ToArray();
        if (status is < 200 or > 299) return outcomes;
        JsonArray? statuses;
        try
        {
            statuses = (JsonNode.Parse(body) as JsonObject)?["statuses"] as JsonArray;
        }
        catch (JsonException)
        {
            return outcomes;
        }
        foreach (var item in statuses?.OfType<JsonObject>() ?? [])
        {
            var entryId = item["entryId"] is JsonValue e && e.TryGetValue<string>(out var id) ? id : null;
            var index = entryId is null ? -1 : Array.IndexOf(entryIds, entryId);
            if (index < 0)
            {
                // daprd logs an unknown entry id and ignores it.
                _cluster.Violation($"{AppId}: a bulk delivery's answer names entry '{entryId}', which the delivery did not carry");
                continue;
            }
            var s = item["status"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : "";
            outcomes[index] = s switch
            {
                "SUCCESS" => DeliveryOutcome.Success,
                "DROP" => DeliveryOutcome.Drop,
                _ => DeliveryOutcome.Retry,
            };
        }
        return outcomes;
    }

    /// <summary>§3.6: 2xx without a status is SUCCESS, status strings are case-sensitive, 404 drops without dead-lettering, the rest is retried.</summary>
    private static DeliveryOutcome Classify(int status, string body)
    {
        if (status == 404) return DeliveryOutcome.DroppedNotFound;
        if (status is < 200 or > 299) return DeliveryOutcome.Retry;
        JsonNode? node;
        try
        {
            node = string.IsNullOrWhiteSpace(body) ? null : JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return DeliveryOutcome.Success;
        }
        if (node is not JsonObject o || o["status"] is not JsonValue v || !v.TryGetValue<string>(out var s)) return DeliveryOutcome.Success;
        return s switch
        {
            "SUCCESS" => DeliveryOutcome.Success,
            "DROP" => DeliveryOutcome.Drop,
            _ => DeliveryOutcome.Retry,
        };
    }

    /// <summary>daprd publishes the original message unchanged to the dead-letter topic of the subscription.</summary>
    internal void PublishDeadLetter(BrokerMessage message, string deadLetterTopic) =>
        _cluster.Broker.Publish(message with { Topic = deadLetterTopic, Envelope = (JsonObject)message.Envelope.DeepClone() });

    public async ValueTask DisposeAsync()
    {
        _stopped = true;
        _cluster.Broker.Leave(this);
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
        _appClient.Dispose();
    }
}
