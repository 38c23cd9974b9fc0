using System.Globalization;
using Microsoft.Extensions.Configuration;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// How the adapter reaches its sidecar and what it expects to find there. Read from configuration, so the
/// variables <c>dapr run</c> and the Kubernetes injector export work as well as appsettings entries.
/// </summary>
public sealed class DaprOptions
{
    public const int DefaultGrpcPort = 50001;
    public const int DefaultHttpPort = 3500;

    /// <summary>Sidecar gRPC API, where every state, pub/sub, secret and metadata call goes: <c>DAPR_GRPC_ENDPOINT</c>,
    /// else <c>http://127.0.0.1:$DAPR_GRPC_PORT</c>, else port 50001.</summary>
    public Uri GrpcEndpoint { get; init; } = new($"http://127.0.0.1:{DefaultGrpcPort}/");

    /// <summary>Sidecar HTTP API, used only by the SDK's outbound health probe: <c>DAPR_HTTP_ENDPOINT</c>, else
    /// <c>http://127.0.0.1:$DAPR_HTTP_PORT</c>, else port 3500.</summary>
    public Uri HttpEndpoint { get; init; } = new($"http://127.0.0.1:{DefaultHttpPort}/");

    /// <summary><c>DAPR_API_TOKEN</c>: sent as <c>dapr-api-token</c> on every call to the sidecar.</summary>
    public string? ApiToken { get; init; }

    /// <summary><c>APP_API_TOKEN</c>: what the sidecar must send to this app's <c>/dapr/*</c> and delivery routes.</summary>
    public string? AppApiToken { get; init; }

    /// <summary><c>DAPR_HEALTH_TIMEOUT</c> (seconds): how long start-up waits for the sidecar's outbound health.</summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>Dapr:RequestTimeout</c> (seconds or hh:mm:ss): one attempt of one call to the sidecar.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary><c>Dapr:MaxAttempts</c>: attempts for a read the adapter may repeat (see <see cref="DaprCalls"/>).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary><c>Dapr:RetryDelay</c>: the first back-off between attempts; it doubles on each retry.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>Dapr:PubSub</c>: the pub/sub component published to and subscribed on.</summary>
    public string PubSubName { get; init; } = Components.PubSub;

    /// <summary><c>Dapr:SecretStore</c>: the secret store component read by <see cref="DaprSecretStore"/>.</summary>
    public string SecretStoreName { get; init; } = Components.SecretStore;

    /// <summary>
    /// <c>Dapr:BulkSubscribe:MaxMessages</c>: most events the sidecar puts in one delivery to a topic with a batch handler
    /// (Dapr's <c>bulkSubscribe.maxMessagesCount</c>).
    /// </summary>
    public int BulkMaxMessages { get; init; } = 100;

    /// <summary>
    /// <c>Dapr:BulkSubscribe:MaxAwait</c> (seconds or hh:mm:ss): how long the sidecar waits to fill a bulk delivery once it
    /// holds its first event (Dapr's <c>bulkSubscribe.maxAwaitDurationMs</c>; Dapr's own default is 1 s). A trickle of
    /// events waits up to this long, so it bounds the latency bulk delivery adds.
    /// </summary>
    public TimeSpan BulkMaxAwait { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Components the sidecar must have loaded, checked at start-up: <c>statestore</c>, the pub/sub component
    /// unless <c>Dapr:RequirePubSub</c> is false, and every name in <c>Dapr:RequiredComponents</c>
    /// (comma-separated or a list). Required state stores must also report <c>ETAG</c> and <c>TRANSACTIONAL</c>.
    /// </summary>
    public IReadOnlyList<string> RequiredComponents { get; init; } = [Components.StateStore, Components.PubSub];

    /// <summary>True when configuration names a sidecar (either port or endpoint variable).</summary>
    public static bool SidecarConfigured(IConfiguration configuration) =>
        new[] { "DAPR_GRPC_ENDPOINT", "DAPR_GRPC_PORT", "DAPR_HTTP_ENDPOINT", "DAPR_HTTP_PORT" }
            .Any(k => NonEmpty(configuration[k]) is not null);

    public static DaprOptions From(IConfiguration configuration)
    {
        var pubSub = NonEmpty(configuration["Dapr:PubSub"]) ?? Components.PubSub;
        var required = new List<string> { Components.StateStore };
        if (!bool.TryParse(configuration["Dapr:RequirePubSub"], out var requirePubSub) || requirePubSub) required.Add(pubSub);
        var section = configuration.GetSection("Dapr:RequiredComponents");
        var extra = section.Value is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value).OfType<string>();
        foreach (var name in extra)
            if (name.Length > 0 && !required.Contains(name, StringComparer.Ordinal)) required.Add(name);

        return new DaprOptions
        {
            GrpcEndpoint = ResolveEndpoint(configuration, "DAPR_GRPC_ENDPOINT", "DAPR_GRPC_PORT", DefaultGrpcPort),
            HttpEndpoint = ResolveEndpoint(configuration, "DAPR_HTTP_ENDPOINT", "DAPR_HTTP_PORT", DefaultHttpPort),
            ApiToken = NonEmpty(configuration["DAPR_API_TOKEN"]),
            AppApiToken = NonEmpty(configuration["APP_API_TOKEN"]),
            HealthTimeout = Duration(configuration, "DAPR_HEALTH_TIMEOUT") ?? TimeSpan.FromSeconds(60),
            RequestTimeout = Duration(configuration, "Dapr:RequestTimeout") ?? TimeSpan.FromSeconds(15),
            MaxAttempts = int.TryParse(configuration["Dapr:MaxAttempts"], NumberStyles.None, CultureInfo.InvariantCulture, out var attempts)
                ? Math.Max(1, attempts)
                : 3,
            RetryDelay = Duration(configuration, "Dapr:RetryDelay") ?? TimeSpan.FromMilliseconds(100),
            PubSubName = pubSub,
            BulkMaxMessages = PositiveCount(configuration, "Dapr:BulkSubscribe:MaxMessages") ?? 100,
            BulkMaxAwait = Duration(configuration, "Dapr:BulkSubscribe:MaxAwait") ?? TimeSpan.FromMilliseconds(20),
            SecretStoreName = NonEmpty(configuration["Dapr:SecretStore"]) ?? Components.SecretStore,
            RequiredComponents = required,
        };
    }

    /// <summary>Resolution order of the official SDKs (§1.1): endpoint, then port, then the default port.</summary>
    public static Uri ResolveEndpoint(IConfiguration configuration, string endpointKey, string portKey, int defaultPort)
    {
        if (NonEmpty(configuration[endpointKey]) is { } endpoint)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new InvalidOperationException($"{endpointKey} '{endpoint}' is not an absolute http(s) URL.");
            return uri;
        }
        if (NonEmpty(configuration[portKey]) is { } port)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                throw new InvalidOperationException($"{portKey} '{port}' is not a TCP port.");
            return new Uri($"http://127.0.0.1:{p}/");
        }
        return new Uri($"http://127.0.0.1:{defaultPort}/");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>A positive whole number, or null when <paramref name="key"/> is not set; anything else is an error naming the key.</summary>
    private static int? PositiveCount(IConfiguration configuration, string key)
    {
        if (NonEmpty(configuration[key]) is not { } text) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0
            ? count
            : throw new InvalidOperationException($"{key} '{text}' is not a positive whole number.");
    }

    /// <summary>A number of seconds (as the SDKs read <c>DAPR_HEALTH_TIMEOUT</c>) or a TimeSpan such as <c>00:00:05</c>.</summary>
    private static TimeSpan? Duration(IConfiguration configuration, string key)
    {
        if (NonEmpty(configuration[key]) is not { } text) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
            return TimeSpan.FromSeconds(seconds);
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero) return span;
        throw new InvalidOperationException($"{key} '{text}' is neither a number of seconds nor a positive TimeSpan.");
    }
}
