using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// Start-up gate: waits for the sidecar's outbound health (§1.3; never <c>/v1.0/healthz</c>, which waits for this
/// app's port and would deadlock), then reads <c>/v1.0/metadata</c> (§1.4) and stops the host with a message naming
/// each missing component or capability, before the app serves a request against a sidecar that cannot serve it.
/// </summary>
public sealed class DaprSidecarReadiness(DaprSidecarClient client, ILogger<DaprSidecarReadiness> logger) : IHostedService
{
    /// <summary>Capabilities a required state store must report: optimistic concurrency and transactions.</summary>
    public static readonly IReadOnlyList<string> RequiredStateCapabilities = ["ETAG", "TRANSACTIONAL"];

    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinProbeTimeout = TimeSpan.FromSeconds(1);

    public async Task StartAsync(CancellationToken ct)
    {
        var options = client.Options;
        await WaitForOutboundHealthAsync(options, ct);
        var components = await ReadComponentsAsync(ct);
        var problems = Check(components, options.RequiredComponents);
        if (problems.Count > 0)
            throw new InvalidOperationException(
                $"The Dapr sidecar at {options.Endpoint} is not set up for this app: {string.Join("; ", problems)}. " +
                "Check the component files in the resources path (dapr run --resources-path components) and their scopes.");
        logger.LogInformation("Dapr sidecar at {Endpoint} ready with components {Components}",
            options.Endpoint, string.Join(", ", components.Select(c => $"{c.Name} ({c.Type})")));
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>A component as <c>/v1.0/metadata</c> lists it.</summary>
    public sealed record ComponentInfo(string Name, string Type, IReadOnlyList<string> Capabilities);

    /// <summary>What is missing: each required component absent, and each required state store lacking ETAG or TRANSACTIONAL.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<ComponentInfo> components, IReadOnlyList<string> required)
    {
        var problems = new List<string>();
        foreach (var name in required)
        {
            var component = components.FirstOrDefault(c => c.Name == name);
            if (component is null)
            {
                problems.Add($"required component '{name}' is not loaded");
                continue;
            }
            if (!component.Type.StartsWith("state.", StringComparison.Ordinal)) continue;
            var missing = RequiredStateCapabilities.Where(c => !component.Capabilities.Contains(c, StringComparer.Ordinal)).ToList();
            if (missing.Count > 0)
                problems.Add($"state store '{name}' ({component.Type}) lacks capability {string.Join(" and ", missing)}");
        }
        return problems;
    }

    private async Task WaitForOutboundHealthAsync(DaprOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(50);
        string last;
        while (true)
        {
            // A probe gets what is left of the budget, but at least a second: a loopback answer is never that slow when healthy.
            var remaining = options.HealthTimeout - clock.Elapsed;
            var attemptTimeout = remaining < MinProbeTimeout ? MinProbeTimeout : remaining;
            if (attemptTimeout > options.RequestTimeout) attemptTimeout = options.RequestTimeout;
            try
            {
                using var response = await client.SendAsync(new(HttpMethod.Get, "v1.0/healthz/outbound"), DaprRetry.None, ct, attemptTimeout);
                if (response.IsSuccessStatusCode) return;
                var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
                last = DaprSidecarClient.Describe("GET /v1.0/healthz/outbound", response.StatusCode, code, message);
            }
            catch (DaprApiException ex)
            {
                last = ex.Message;
            }
            if (clock.Elapsed + delay >= options.HealthTimeout)
                throw new InvalidOperationException(
                    $"The Dapr sidecar at {options.Endpoint} was not ready within {options.HealthTimeout.TotalSeconds:0.###} s " +
                    $"(DAPR_HEALTH_TIMEOUT). Last answer: {last}");
            logger.LogInformation("Waiting for the Dapr sidecar at {Endpoint}: {Last}", options.Endpoint, last);
            await Task.Delay(delay, ct);
            delay = delay * 2 < MaxPollDelay ? delay * 2 : MaxPollDelay;
        }
    }

    private async Task<IReadOnlyList<ComponentInfo>> ReadComponentsAsync(CancellationToken ct)
    {
        using var response = await client.SendAsync(new(HttpMethod.Get, "v1.0/metadata"), DaprRetry.AnyTransportFailure, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var (code, message) = await DaprSidecarClient.ReadErrorAsync(response, ct);
            var hint = response.StatusCode == HttpStatusCode.Unauthorized ? " (DAPR_API_TOKEN does not match the sidecar's)" : "";
            throw new InvalidOperationException(DaprSidecarClient.Describe("GET /v1.0/metadata", response.StatusCode, code, message) + hint);
        }
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the body is not a JSON object");
            if (!doc.RootElement.TryGetProperty("components", out var list) || list.ValueKind == JsonValueKind.Null) return [];
            if (list.ValueKind != JsonValueKind.Array) throw new JsonException("\"components\" is not an array");
            return list.EnumerateArray().Select(c => new ComponentInfo(
                String(c, "name") ?? throw new JsonException("a component has no name"),
                String(c, "type") ?? "",
                c.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Array
                    ? caps.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
                    : [])).ToList();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"GET /v1.0/metadata from the Dapr sidecar at {client.Options.Endpoint} answered an unreadable body: {ex.Message}", ex);
        }

        static string? String(JsonElement e, string property) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }
}
