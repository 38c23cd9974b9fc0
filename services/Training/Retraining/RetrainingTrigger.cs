using System.Globalization;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Modeling.Registry;
using Platform.Workflows;

namespace Platform.Training.Retraining;

/// <summary>The retraining record of one model (training's private state): the latest run and the skipped triggers.</summary>
public sealed record RetrainingRecord(string Model, int Sequence, string? InstanceId, DateTimeOffset? StartedAt, string? Trigger,
    IReadOnlyList<SkippedTrigger> Skipped);

public sealed record SkippedTrigger(string TriggerId, DateTimeOffset At, string Reason);

/// <summary>
/// Starts retraining runs from <c>drift-detected</c> events and the schedule, at most one per model per cooldown. The
/// run's instance id is <c>retrain-{model}-{sequence}</c>, the next sequence after the model's latest run, so a
/// redelivered event or two racing triggers schedule the same instance (scheduling an existing id starts nothing).
/// </summary>
public sealed class RetrainingTrigger(IStateStoreProvider stores, IWorkflowClient workflows, ModelRegistry registry, RetrainingOptions options,
    TimeProvider clock, ILogger<RetrainingTrigger> logger)
{
    private IStateStore Store => stores.PrivateStore();

    public static string Key(string model) => $"retraining/{model}";

    public Task<string?> OnDriftAsync(DriftDetected drift, string eventId, CancellationToken ct) =>
        TriggerAsync(drift.Model, $"drift {drift.Statistic}={drift.Value.ToString("G4", CultureInfo.InvariantCulture)} on window ending {drift.WindowEnd:o}",
            eventId, drift.WindowEnd, ct);

    /// <summary>Starts (or finds) the run for this trigger; null when the trigger was skipped (disabled, no champion, cooldown).</summary>
    public async Task<string?> TriggerAsync(string model, string trigger, string triggerId, DateTimeOffset? after, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (record, etag) = await Store.GetWithETagAsync<RetrainingRecord>(Key(model), ct);
            record ??= new RetrainingRecord(model, 0, null, null, null, []);
            if (record.Trigger == triggerId && record.InstanceId is { } existing)
            {
                // A redelivery of the trigger that started the latest run: make sure it is scheduled.
                await workflows.ScheduleNewWorkflowAsync(nameof(RetrainingWorkflow), existing, Request(model, trigger, triggerId, after), ct);
                return existing;
            }
            var now = clock.GetUtcNow();
            string? skip = null;
            if (!options.EnabledFor(model)) skip = "retraining is disabled for this model";
            else if (record.Skipped.Any(s => s.TriggerId == triggerId)) return null;
            else if (record.StartedAt is { } started && now - started < options.Cooldown)
                skip = $"cooldown: {record.InstanceId} started {started:o}, cooldown {options.Cooldown}";
            else if ((await registry.GetEntryAsync(model, ct))?.Champion is null) skip = "the model has no champion";
            RetrainingRecord next;
            string? instance = null;
            if (skip is not null)
                next = record with { Skipped = [.. record.Skipped.TakeLast(49), new SkippedTrigger(triggerId, now, skip)] };
            else
            {
                instance = $"retrain-{model}-{(record.Sequence + 1).ToString(CultureInfo.InvariantCulture)}";
                next = record with { Sequence = record.Sequence + 1, InstanceId = instance, StartedAt = now, Trigger = triggerId };
            }
            var outcome = await Store.SaveAsync(Key(model), next, etag, ct);
            if (outcome == StateOutcome.Conflict && attempt < 10) continue;
            if (instance is null)
            {
                logger.LogInformation("Retraining of {Model} not started for {Trigger}: {Reason}", model, triggerId, skip);
                return null;
            }
            await workflows.ScheduleNewWorkflowAsync(nameof(RetrainingWorkflow), instance, Request(model, trigger, triggerId, after), ct);
            logger.LogWarning("Retraining {Model} ({Instance}) after {Trigger}", model, instance, trigger);
            return instance;
        }
    }

    private RetrainingRequest Request(string model, string trigger, string triggerId, DateTimeOffset? after) =>
        new(model, trigger, triggerId, after, options.PolicyFor(model), options.Gate);
}

/// <summary>Triggers a retraining of every model with a champion each <see cref="RetrainingOptions.Every"/> (subject to the cooldown).</summary>
public sealed class RetrainingSchedule(RetrainingTrigger trigger, ModelRegistry registry, RetrainingOptions options, TimeProvider clock,
    ILogger<RetrainingSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Every is not { } every || every <= TimeSpan.Zero) return;
        using var timer = new PeriodicTimer(every, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var slot = clock.GetUtcNow().UtcTicks / every.Ticks;
                foreach (var model in await registry.ListModelsAsync(stoppingToken))
                    await trigger.TriggerAsync(model, "schedule", $"schedule:{slot.ToString(CultureInfo.InvariantCulture)}", null, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Scheduled retraining failed; retried at the next tick");
            }
        }
    }
}
