using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.Training.Runs;

/// <summary>
/// Readiness: Degraded while the process uses more memory than its runs are allowed together
/// (<see cref="TrainingLimits.MemoryBudgetMiB"/> times <see cref="TrainingLimits.MaxConcurrentRuns"/>): a run is taking more
/// than its dataset estimate, or something else is. Degraded still answers 200, so traffic keeps flowing; an operator
/// or an autoscaler reads the status.
/// </summary>
public sealed class TrainingMemoryCheck(TrainingLimits limits) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var used = Environment.WorkingSet;
        var allowed = limits.MemoryBudgetBytes * Math.Max(1, limits.MaxConcurrentRuns);
        var data = new Dictionary<string, object> { ["workingSetMiB"] = used / (1024 * 1024), ["allowedMiB"] = allowed / (1024 * 1024) };
        return Task.FromResult(used > allowed
            ? HealthCheckResult.Degraded($"The process uses {used / (1024 * 1024):N0} MiB, more than its runs' budget of {allowed / (1024 * 1024):N0} MiB " +
                $"({TrainingLimits.Section}:MemoryBudgetMiB x MaxConcurrentRuns).", data: data)
            : HealthCheckResult.Healthy(data: data));
    }
}
