using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.BuildingBlocks.Dapr;

/// <summary>
/// Start-up gate: waits for the sidecar's outbound health with <c>DaprClient.WaitForSidecarAsync</c> (§1.3; never
/// <c>/v1.0/healthz</c>, which waits for this app's port and would deadlock), then reads the loaded components with
/// <c>DaprClient.GetMetadataAsync</c> (§1.4) and stops the host with a message naming
/// each missing component or capability, before the app serves a request against a sidecar that cannot serve it.
/// </summary>
public sealed class DaprSidecarReadiness(DaprCalls calls, ILogger<DaprSidecarReadiness> logger) : IHostedService
{
    /// <summary>Capabilities a required state store must report: optimistic concurrency and transactions.</summary>
    public static readonly IReadOnlyList<string> RequiredStateCapabilities = ["ETAG", "TRANSACTIONAL"];

    public async Task StartAsync(CancellationToken ct)
    {
        var options = calls.Options;
        await WaitForOutboundHealthAsync(options, ct);
        var components = await ReadComponentsAsync(ct);
        var problems = Check(components, options.RequiredComponents);
        if (problems.Count > 0)
            throw new InvalidOperationException(
                $"The Dapr sidecar at {options.GrpcEndpoint} is not set up for this app: {string.Join("; ", problems)}. " +
                "Check the component files in the resources path (dapr run --resources-path components) and their scopes.");
        logger.LogInformation("Dapr sidecar at {Endpoint} ready with components {Components}",
            options.GrpcEndpoint, string.Join(", ", components.Select(c => $"{c.Name} ({c.Type})")));
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
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(options.HealthTimeout);
        try
        {
            // Polls GET /v1.0/healthz/outbound: ready once the sidecar's components are loaded, without waiting for this app.
            await calls.Client.WaitForSidecarAsync(budget.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"The Dapr sidecar at {options.HttpEndpoint} was not ready within {options.HealthTimeout.TotalSeconds:0.###} s " +
                "(DAPR_HEALTH_TIMEOUT): /v1.0/healthz/outbound never answered success.");
        }
    }

    private async Task<IReadOnlyList<ComponentInfo>> ReadComponentsAsync(CancellationToken ct)
    {
        try
        {
            var metadata = await calls.RunAsync(DaprCalls.Kind.Read, "GetMetadata", (c, t) => c.GetMetadataAsync(t), ct);
            return metadata.Components.Select(c => new ComponentInfo(c.Name, c.Type ?? "", c.Capabilities ?? [])).ToList();
        }
        catch (DaprApiException ex)
        {
            var hint = ex.Status == Grpc.Core.StatusCode.Unauthenticated ? " (DAPR_API_TOKEN does not match the sidecar's)" : "";
            throw new InvalidOperationException(ex.Message + hint, ex);
        }
    }
}
