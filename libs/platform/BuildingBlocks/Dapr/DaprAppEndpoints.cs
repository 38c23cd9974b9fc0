using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

    /// <summary>The delivery status strings of §3.6; case-sensitive.</summary>
    public static string StatusOf(DeliveryResult result) => result switch
    {
        DeliveryResult.Success => "SUCCESS",
        DeliveryResult.Retry => "RETRY",
        DeliveryResult.Drop => "DROP",
        _ => throw new ArgumentOutOfRangeException(nameof(result), result, null),
    };

    /// <summary>
    /// Maps <c>/dapr/subscribe</c> and the delivery routes. When <c>APP_API_TOKEN</c> is set, requests to <c>/dapr/*</c>
    /// and to the delivery routes must carry it in <c>dapr-api-token</c> (§1.2); the health probes stay open.
    /// </summary>
    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetService<DaprOptions>() ?? DaprOptions.From(services.GetRequiredService<IConfiguration>());
        var registry = services.GetService<SubscriptionRegistry>() ?? new SubscriptionRegistry();
        var subscriptions = registry.Subscriptions;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Dapr.Delivery");

        var subscribeBody = JsonSerializer.SerializeToUtf8Bytes(subscriptions.Select(s => new SubscribeItem(
            options.PubSubName, s.Topic, s.Route, s.DeadLetterTopic)).ToList(), SubscribeJson);
        var mapped = new List<IEndpointConventionBuilder>
        {
            endpoints.MapGet(SubscribePath, (HttpContext context) =>
            {
                context.Response.ContentType = "application/json";
                return context.Response.Body.WriteAsync(subscribeBody, context.RequestAborted).AsTask();
            }).ExcludeFromDescription(),
        };
        foreach (var subscription in subscriptions)
        {
            var s = subscription;
            mapped.Add(endpoints.MapPost(s.Route, (HttpContext context) => DeliverAsync(context, s, logger)).ExcludeFromDescription());
        }

        if (options.AppApiToken is { } token)
        {
            if (endpoints is IApplicationBuilder app)
            {
                var protectedRoutes = subscriptions.Select(s => s.Route).ToHashSet(StringComparer.OrdinalIgnoreCase);
                app.UseMiddleware<DaprAppTokenMiddleware>(token, protectedRoutes);
            }
            else
            {
                // A route group has no pipeline of its own: check the token on each mapped endpoint instead.
                foreach (var builder in mapped)
                    builder.AddEndpointFilter(async (ctx, next) =>
                        DaprAppTokenMiddleware.HasToken(ctx.HttpContext.Request, token) ? await next(ctx) : Results.StatusCode(StatusCodes.Status401Unauthorized));
            }
        }
        return endpoints;
    }

    private static readonly JsonSerializerOptions SubscribeJson = new() { PropertyNamingPolicy = null };

    // §3.3 item shape; property names are case-sensitive.
    private sealed record SubscribeItem(
        [property: System.Text.Json.Serialization.JsonPropertyName("pubsubname")] string PubSubName,
        [property: System.Text.Json.Serialization.JsonPropertyName("topic")] string Topic,
        [property: System.Text.Json.Serialization.JsonPropertyName("route")] string Route,
        [property: System.Text.Json.Serialization.JsonPropertyName("deadLetterTopic")] string DeadLetterTopic);

    private static async Task DeliverAsync(HttpContext context, Subscription subscription, ILogger logger)
    {
        var ct = context.RequestAborted;
        DeliveryResult result;
        var (e, reason) = await ReadEventAsync(context.Request, subscription, ct);
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
    /// Builds the delivered event: a CloudEvent envelope (<c>application/cloudevents+json</c>, or <c>application/json</c>
    /// carrying <c>specversion</c>), or a plain JSON payload (a raw delivery), whose id is then a hash of its bytes so a
    /// redelivery keeps it. Null with a reason when the delivery cannot be read (a poison message: dropped).
    /// </summary>
    internal static async Task<(CloudEvent? Event, string Reason)> ReadEventAsync(HttpRequest request, Subscription subscription, CancellationToken ct)
    {
        var mediaType = request.ContentType is { } contentType && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            ? parsed.MediaType.Value?.ToLowerInvariant()
            : null;
        var isEnvelopeType = mediaType == "application/cloudevents+json";
        if (!isEnvelopeType && mediaType != "application/json")
            return (null, $"unsupported content type '{request.ContentType}' (expected application/cloudevents+json or application/json)");

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, ct);
        var bytes = body.GetBuffer().AsMemory(0, (int)body.Length);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            return (null, "the body is not JSON: " + ex.Message);
        }
        using (doc)
        {
            var root = doc.RootElement;
            var isEnvelope = isEnvelopeType || (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("specversion", out _));
            if (!isEnvelope)
            {
                var id = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
                return (new CloudEvent(id, "", "com.dapr.event.sent", subscription.Topic, "", DateTimeOffset.UtcNow, "application/json", bytes.ToArray()), "");
            }
            return FromEnvelope(root, subscription);
        }
    }

    private static (CloudEvent? Event, string Reason) FromEnvelope(JsonElement root, Subscription subscription)
    {
        if (root.ValueKind != JsonValueKind.Object) return (null, "the CloudEvent envelope is not a JSON object");
        if (Text(root, "id") is not { Length: > 0 } id) return (null, "the CloudEvent envelope has no id");
        if (Text(root, "type") is not { Length: > 0 } type) return (null, $"the CloudEvent {id} has no type");
        var time = DateTimeOffset.UtcNow;
        if (Text(root, "time") is { } timeText
            && !DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out time))
            return (null, $"the CloudEvent {id} has an unreadable time '{timeText}'");

        ReadOnlyMemory<byte> data = default;
        if (root.TryGetProperty("data", out var dataElement) && dataElement.ValueKind != JsonValueKind.Null)
        {
            data = Encoding.UTF8.GetBytes(dataElement.GetRawText());
        }
        else if (Text(root, "data_base64") is { } base64)
        {
            try
            {
                data = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                return (null, $"the CloudEvent {id} has data_base64 that is not base64");
            }
        }
        return (new CloudEvent(id, Text(root, "source") ?? "", type, Text(root, "topic") ?? subscription.Topic,
            Text(root, "pubsubname") ?? "", time, Text(root, "datacontenttype") ?? "application/json", data), "");

        static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
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
