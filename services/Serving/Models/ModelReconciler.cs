using System.Diagnostics.Metrics;

namespace Platform.Serving.Models;

/// <summary><c>Serving:*</c>: which replica this is and how often it compares its champions with the registry.</summary>
public sealed class ServingReplicaOptions
{
    /// <summary>Names this replica in <c>/v1/serving/models</c>, the <c>X-Serving-Replica</c> header and metrics. Default: host name and process id (the pod name in Kubernetes).</summary>
    public string ReplicaId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>How often every loaded and registered model's champion version is read from the registry.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Brings this replica's champions in line with the registry on a short timer. <c>ModelPromoted</c> reaches one replica
/// of the serving consumer group only; the others (and any replica that missed an event) converge here. Each pass reads
/// the registry entries only, and loads an artifact only for a model whose champion version differs from the served one.
/// </summary>
public sealed class ModelReconciler(ModelHost host, IModelSource source, ServingReplicaOptions options, ILogger<ModelReconciler> logger)
    : BackgroundService
{
    public const string MeterName = "Platform.Serving";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Passes = Meter.CreateCounter<long>("serving.reconcile.passes", "{pass}",
        "Reconcile passes against the registry, by outcome (in_sync, swapped, failed).");

    /// <summary>One pass: refreshes every model whose served version is not the registry's champion.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        var names = (await source.ListModelsAsync(ct)).Concat(host.Snapshot.Models.Keys).Distinct(StringComparer.Ordinal);
        var swapped = false;
        foreach (var name in names)
        {
            var champion = await source.GetChampionVersionAsync(name, ct);
            var served = host.Snapshot.Models.GetValueOrDefault(name)?.Version;
            if (champion == served) continue;
            // A champion whose artifact failed to load fails again: the timer does not re-download it every pass (a
            // ModelPromoted event still retries, and so does a newer champion).
            if (champion is { } version && host.FailedToLoad(name, version)) continue;
            logger.LogInformation("Replica {Replica}: {Model} serves v{Served}, the registry's champion is v{Champion}; refreshing",
                options.ReplicaId, name, served?.ToString() ?? "none", champion?.ToString() ?? "none");
            await host.RefreshAsync(name, ct);
            swapped = true;
        }
        Passes.Add(1, new KeyValuePair<string, object?>("outcome", swapped ? "swapped" : "in_sync"));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ReconcileInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ReconcileAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The registry may be briefly unreachable: keep serving what is loaded and try again next tick.
                Passes.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                logger.LogWarning("Replica {Replica}: reconcile with the registry failed: {Error}", options.ReplicaId, ex.Message);
            }
        }
    }

    /// <summary>The served version of every loaded model on this replica (<c>serving_model_version{model,replica}</c>).</summary>
    public static void ObserveServedVersions(ModelHost host, ServingReplicaOptions options) =>
        Meter.CreateObservableGauge("serving.model.version", () => host.Snapshot.Models.Values.Select(m => new Measurement<long>(m.Version,
            new KeyValuePair<string, object?>("model", m.Name), new KeyValuePair<string, object?>("replica", options.ReplicaId))),
            "{version}", "The model version this replica serves.");
}
