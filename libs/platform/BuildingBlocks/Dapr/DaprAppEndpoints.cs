using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudEventsMiddlewareOptions = Dapr.CloudEventsMiddlewareOptions;
using TopicOptions = Dapr.TopicOptions;
using BulkSubscribeTopicOptions = Dapr.AspNetCore.BulkSubscribeTopicOptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// The app side of Dapr pub/sub: <c>GET /dapr/subscribe</c> (§3.3) built from <see cref="SubscriptionRegistry"/>, and a
/// delivery endpoint per subscription route (§3.5) answering 200 with SUCCESS, RETRY or DROP (§3.6).
/// </summary>
public static class DaprAppEndpoints
{
    public const string SubscribePath = "/dapr/subscribe";
    public const string TokenHeader = "dapr-api-token";

    /// <summary>The CloudEvent attributes <c>UseCloudEvents</c> forwards as <c>Cloudevent.{name}</c> request headers.</summary>
    private static readonly string[] ForwardedAttributes = ["id", "source", "type", "topic", "time", "traceparent"];

    /// <summary>The delivery status strings of §3.6; case-sensitive.</summary>
    public static string StatusOf(DeliveryResult result) => result switch
    {
        DeliveryResult.Success => "SUCCESS",
        DeliveryResult.Retry => "RETRY",
        DeliveryResult.Drop => "DROP",
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, null),
    };

    /// <summary>
    /// The app side on Dapr.AspNetCore: <c>UseCloudEvents</c> unwraps each delivered envelope (its attributes forwarded as
    /// <c>Cloudevent.*</c> headers), every subscription is a POST route carrying <c>WithTopic</c> metadata (pub/sub, topic,
    /// dead-letter topic), and <c>MapSubscribeHandler</c> serves <c>GET /dapr/subscribe</c> from that metadata. A handler
    /// answers 200 with SUCCESS, RETRY or DROP (§3.6). When <c>APP_API_TOKEN</c> is set, requests to <c>/dapr/*</c> and to
    /// the delivery routes must carry it in <c>dapr-api-token</c> (§1.2); the health probes stay open. Call it on the
    /// application itself (it adds middleware), not on a route group.
    /// </summary>
    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        if (endpoints is not IApplicationBuilder app)
            throw new InvalidOperationException("MapDaprEndpoints must be called on the application, not on a route group: it adds UseCloudEvents.");
        var services = endpoints.ServiceProvider;
        var options = services.GetService<DaprOptions>() ?? DaprOptions.From(services.GetRequiredService<IConfiguration>());
        var registry = services.GetService<SubscriptionRegistry>() ?? new SubscriptionRegistry();
        var subscriptions = registry.Subscriptions;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Dapr.Delivery");

        if (options.AppApiToken is { } token)
            app.UseMiddleware<DaprAppTokenMiddleware>(token, subscriptions.Select(s => s.Route).ToHashSet(StringComparer.OrdinalIgnoreCase));
        app.UseCloudEvents(new CloudEventsMiddlewareOptions
        {
            ForwardCloudEventPropertiesAsHeaders = true,
            IncludedCloudEventPropertiesAsHeaders = ForwardedAttributes,
        });
        endpoints.MapSubscribeHandler().ExcludeFromDescription();
        foreach (var subscription in subscriptions)
        {
            var s = subscription;
            var route = endpoints.MapPost(s.Route, (HttpContext context) => DeliverAsync(context, s, logger))
                .WithTopic(new TopicOptions { PubsubName = options.PubSubName, Name = s.Topic, DeadLetterTopic = s.DeadLetterTopic })
                .ExcludeFromDescription();
            // A topic with a batch handler is declared with bulkSubscribe: the sidecar then sends many events per request.
            if (s.BatchHandler is not null)
                route.WithBulkSubscribe(new BulkSubscribeTopicOptions
                {
                    TopicName = s.Topic,
                    MaxMessagesCount = options.BulkMaxMessages,
                    MaxAwaitDurationMs = (int)Math.Ceiling(options.BulkMaxAwait.TotalMilliseconds),
                });
        }
        return endpoints;
    }

    /// <summary>The <c>type</c> of the envelope daprd wraps a bulk delivery in (§3.6).</summary>
    public const string BulkEventType = "com.dapr.event.sent.bulk";

    private static async Task DeliverAsync(HttpContext context, Subscription subscription, ILogger logger)
    {
        var ct = context.RequestAborted;
        var request = context.Request;
        var mediaType = request.ContentType is { } contentType && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            ? parsed.MediaType.Value?.ToLowerInvariant()
            : null;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, ct);
        var bytes = body.ToArray();
        // A bulk delivery is a plain JSON body (UseCloudEvents leaves it alone): the envelope of §3.6 with its entries.
        if (subscription.BatchHandler is { } batch && mediaType == "application/json" && !request.Headers.ContainsKey("Cloudevent.id")
            && BulkDelivery.TryRead(bytes, subscription) is { } bulk)
        {
            await DeliverBulkAsync(context, subscription, batch, bulk, logger);
            return;
        }

        DeliveryResult result;
        var (e, reason) = ReadEvent(request, mediaType, bytes, subscription);
        if (e is null)
        {
            logger.LogError("Dropping a delivery on {Topic} ({Route}): {Reason}", subscription.Topic, subscription.Route, reason);
            result = DeliveryResult.Drop;
        }
        else
        {
            try
            {
                await using var scope = context.RequestServices.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
                result = await subscription.Handler(scope.ServiceProvider, e, ct);
                if (result == DeliveryResult.Drop)
                    logger.LogWarning("Handler dropped {Id} ({Type}) on {Topic}", e.Id, e.Type, e.Topic);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Handler for {Topic} failed on {Id} ({Type}); asking the sidecar to retry", e.Topic, e.Id, e.Type);
                result = DeliveryResult.Retry;
            }
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("{\"status\":\"" + StatusOf(result) + "\"}", CancellationToken.None);
    }

    /// <summary>
    /// A bulk delivery (§3.6): the readable entries go to the batch handler in the order sent, an unreadable one is
    /// answered DROP with its reason logged, and a handler that throws answers RETRY for every readable entry (the sidecar
    /// sends those again). Always 200 with one status per entry id.
    /// </summary>
    private static async Task DeliverBulkAsync(HttpContext context, Subscription subscription, BatchEventHandlerDelegate handler,
        BulkDelivery bulk, ILogger logger)
    {
        var ct = context.RequestAborted;
        var statuses = new DeliveryResult[bulk.Entries.Count];
        var events = new List<CloudEvent>(bulk.Entries.Count);
        var positions = new List<int>(bulk.Entries.Count);
        for (var i = 0; i < bulk.Entries.Count; i++)
        {
            var entry = bulk.Entries[i];
            if (entry.Event is null)
            {
                logger.LogError("Dropping entry {EntryId} of a bulk delivery on {Topic} ({Route}): {Reason}", entry.EntryId, subscription.Topic,
                    subscription.Route, entry.Reason);
                statuses[i] = DeliveryResult.Drop;
                continue;
            }
            events.Add(entry.Event);
            positions.Add(i);
        }
        if (events.Count > 0)
        {
            try
            {
                await using var scope = context.RequestServices.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
                var results = await handler(scope.ServiceProvider, events, ct);
                if (results.Count != events.Count)
                    throw new InvalidOperationException($"The batch handler on '{subscription.Topic}' answered {results.Count} results for {events.Count} events.");
                for (var k = 0; k < results.Count; k++)
                {
                    statuses[positions[k]] = results[k];
                    if (results[k] == DeliveryResult.Drop)
                        logger.LogWarning("Handler dropped {Id} ({Type}) on {Topic}", events[k].Id, events[k].Type, events[k].Topic);
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Batch handler for {Topic} failed on {Count} events ({First} to {Last}); asking the sidecar to retry them",
                    subscription.Topic, events.Count, events[0].Id, events[^1].Id);
                foreach (var position in positions) statuses[position] = DeliveryResult.Retry;
            }
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteStartArray("statuses");
        for (var i = 0; i < bulk.Entries.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteString("entryId", bulk.Entries[i].EntryId);
            writer.WriteString("status", StatusOf(statuses[i]));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(CancellationToken.None);
    }

    /// <summary>
    /// Builds the delivered event from what <c>UseCloudEvents</c> left: the body is the envelope's <c>data</c> (JSON), the
    /// attributes are <c>Cloudevent.*</c> headers. A delivery that was not an envelope (a raw payload, no
    /// <c>Cloudevent.id</c>) gets a hash of its bytes as id, so a redelivery keeps it. Null with a reason when the delivery
    /// cannot be read (a poison message: dropped).
    /// </summary>
    private static (CloudEvent? Event, string Reason) ReadEvent(HttpRequest request, string? mediaType, byte[] bytes, Subscription subscription)
    {
        if (mediaType != "application/json")
            return (null, $"unsupported data content type '{request.ContentType}' (expected application/json)");
        if (NotJson(bytes) is { } why) return (null, "the data is not JSON: " + why);
        return Header(request, "id") is { } id
            ? Enveloped(id, Header(request, "type"), Header(request, "source"), Header(request, "topic"), Header(request, "time"), bytes, subscription)
            : (RawEvent(bytes, subscription), "");

        static string? Header(HttpRequest request, string attribute) =>
            request.Headers.TryGetValue("Cloudevent." + attribute, out var values) && values.Count > 0 ? values[0] : null;
    }

    /// <summary>Why <paramref name="data"/> is not one JSON document, or null when it is.</summary>
    internal static string? NotJson(byte[] data)
    {
        try
        {
            using var _ = JsonDocument.Parse(data);
            return null;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>A delivery that was not an envelope: its id is a hash of its bytes, so a redelivery keeps it.</summary>
    internal static CloudEvent RawEvent(byte[] data, Subscription subscription) =>
        new("sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)), "", "com.dapr.event.sent", subscription.Topic, "", DateTimeOffset.UtcNow,
            "application/json", data);

    /// <summary>An envelope's event from its attributes, or null with the reason it cannot be read (a poison message).</summary>
    internal static (CloudEvent? Event, string Reason) Enveloped(string id, string? type, string? source, string? topic, string? timeText, byte[] data,
        Subscription subscription)
    {
        if (id.Length == 0) return (null, "the CloudEvent has an empty id");
        if (type is not { Length: > 0 }) return (null, $"the CloudEvent {id} has no type");
        var time = DateTimeOffset.UtcNow;
        if (timeText is not null && !DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out time))
            return (null, $"the CloudEvent {id} has an unreadable time '{timeText}'");
        return (new CloudEvent(id, source ?? "", type, topic ?? subscription.Topic, "", time, "application/json", data), "");
    }
}

/// <summary>
/// Checks the sidecar's <c>dapr-api-token</c> against <c>APP_API_TOKEN</c> (§1.2) on <c>/dapr/*</c> and the delivery
/// routes: 401 without it. The health probes (<c>/healthz</c>, <c>/health/*</c>) carry no token and stay exempt.
/// </summary>
public sealed class DaprAppTokenMiddleware(RequestDelegate next, string token, IReadOnlySet<string> deliveryRoutes)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (!IsProtected(context.Request.Path, deliveryRoutes) || HasToken(context.Request, token)) return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }

    public static bool IsProtected(PathString path, IReadOnlySet<string> deliveryRoutes)
    {
        if (path.Equals("/healthz", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
            return false;
        return path.StartsWithSegments("/dapr", StringComparison.OrdinalIgnoreCase)
            || (path.Value is { } value && deliveryRoutes.Contains(value.TrimEnd('/')));
    }

    public static bool HasToken(HttpRequest request, string token)
    {
        var sent = request.Headers[DaprAppEndpoints.TokenHeader];
        return sent.Count == 1 && sent[0] is { } value
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(value), Encoding.UTF8.GetBytes(token));
    }
}
