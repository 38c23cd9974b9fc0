using Dapr.Workflow;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Validation;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.Training.Data;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Training.Retraining;

/// <summary>Why and what to retrain. <see cref="After"/> is the end of the drift window (null for a scheduled run).</summary>
public sealed record RetrainingRequest(string Model, string Trigger, string TriggerId, DateTimeOffset? After, string Policy,
    string Gate = RetrainingOptions.ChampionAndBaselines);

/// <summary>
/// The plan: the champion, the challenger's training request (data up to <see cref="TrainTo"/>), and the holdout
/// window [<see cref="HoldoutFrom"/>, <see cref="HoldoutTo"/>] (decision times with known targets) that neither trains on.
/// </summary>
public sealed record RetrainingPlan(bool Ready, string Detail, int Champion, TrainingRequest? Train, TrainingRequest? Full,
    DateTimeOffset HoldoutFrom, DateTimeOffset HoldoutTo, DateTimeOffset TrainTo);

public sealed record HoldoutInput(RetrainingPlan Plan, int Challenger);

/// <summary>Scores on the holdout window with the policy's metric; null where a model could not be scored.</summary>
public sealed record HoldoutReport(string Metric, int Rows, DateTimeOffset From, DateTimeOffset To, double? Challenger, double? Champion,
    IReadOnlyDictionary<string, double?> Baselines, bool ChampionTrainedOnWindow);

public sealed record StageInput(string Model, int Version, ModelStage Stage);

/// <summary>What a retraining run did: the challenger registered, the holdout scores, and whether it was promoted and why.</summary>
public sealed record RetrainingOutcome(string Model, string Trigger, int Champion, int Challenger, HoldoutReport Holdout, bool Promoted, string Stage,
    string Reason);

public sealed record RetrainingStatus(string Step, string? Detail = null);

/// <summary>
/// Retraining as a durable workflow: wait (durable timers) until the new regime is in the data, plan the windows, train
/// and validate the candidates with the training activities, register the winner and stage it as challenger, score
/// challenger, champion and baselines on the holdout window neither trained on, then promote the challenger only when
/// it beats all of them and the model's policy is <c>auto</c>; otherwise it stays in Staging with the reason.
/// </summary>
public sealed class RetrainingWorkflow : Workflow<RetrainingRequest, RetrainingOutcome>
{
    public override Task<RetrainingOutcome> RunAsync(WorkflowContext context, RetrainingRequest input) =>
        context.PublishingStatusAsync(() => RetrainAsync(context, input));

    private static async Task<RetrainingOutcome> RetrainAsync(WorkflowContext context, RetrainingRequest input)
    {
        context.SetCustomStatus(new RetrainingStatus("plan"));
        var options = await context.CallActivityAsync<RetrainingTimings>(nameof(RetrainingTimingsActivity), input.Model);
        var deadline = context.CurrentUtcDateTime + options.MaxWait;
        RetrainingPlan plan;
        while (true)
        {
            plan = await context.CallActivityAsync<RetrainingPlan>(nameof(PlanRetrainingActivity), input);
            if (plan.Ready || context.CurrentUtcDateTime >= deadline) break;
            context.SetCustomStatus(new RetrainingStatus("waiting-for-bars", plan.Detail));
            await context.CreateTimer(options.Poll);
        }
        if (plan.Train is null || plan.Full is null) throw new InvalidOperationException($"Cannot retrain {input.Model}: {plan.Detail}");

        var train = plan.Train;
        context.SetCustomStatus(new RetrainingStatus("train"));
        var dataset = await context.CallActivityAsync<DatasetSummary>(nameof(LoadDatasetActivity), train);
        var reports = new List<ValidationReport>();
        foreach (var spec in train.EffectiveCandidates)
            reports.Add(await context.CallActivityAsync<ValidationReport>(nameof(EvaluateCandidateActivity), new CandidateInput(train, spec, false)));
        var metric = train.EffectivePolicy.Metric;
        var scored = reports.Where(r => r.Score(metric).HasValue).ToList();
        var winner = scored.Count == 0 ? reports[0]
            : MetricSet.HigherIsBetter(metric) ? scored.MaxBy(r => r.Score(metric)!.Value)! : scored.MinBy(r => r.Score(metric)!.Value)!;

        context.SetCustomStatus(new RetrainingStatus("register"));
        var version = await context.CallActivityAsync<ModelVersion>(nameof(RegisterModelActivity), new RegisterInput(train, winner, dataset,
            new GateDecision(false, "A retraining challenger is staged first and judged on the holdout window after registration.")));
        await context.CallActivityAsync<string>(nameof(StageModelActivity), new StageInput(input.Model, version.Version, ModelStage.Staging));

        context.SetCustomStatus(new RetrainingStatus("holdout"));
        var holdout = await context.CallActivityAsync<HoldoutReport>(nameof(HoldoutEvaluationActivity), new HoldoutInput(plan, version.Version));
        var (wins, why) = Decide(holdout, input.Gate);
        var promote = wins && string.Equals(input.Policy, "auto", StringComparison.OrdinalIgnoreCase);
        var reason = !wins ? $"Kept in Staging: {why}"
            : promote ? $"Promoted: {why}"
            : $"Kept in Staging for approval (policy {input.Policy}): {why}";
        var stage = ModelStage.Staging;
        if (promote)
        {
            context.SetCustomStatus(new RetrainingStatus("promote"));
            await context.CallActivityAsync<string>(nameof(StageModelActivity), new StageInput(input.Model, version.Version, ModelStage.Production));
            stage = ModelStage.Production;
        }
        context.SetCustomStatus(new RetrainingStatus("completed", reason));
        return new RetrainingOutcome(input.Model, input.Trigger, plan.Champion, version.Version, holdout, promote, stage.ToString(), reason);
    }

    /// <summary>The challenger must beat the champion and (with the default gate) every baseline on the holdout metric.</summary>
    public static (bool Wins, string Why) Decide(HoldoutReport h, string gate = RetrainingOptions.ChampionAndBaselines)
    {
        var higher = MetricSet.HigherIsBetter(h.Metric);
        bool Beats(double? c, double? other) => c is { } x && (other is not { } y || (higher ? x > y : x < y));
        var window = $"{h.Metric} on {h.Rows} holdout rows {h.From:yyyy-MM-dd}..{h.To:yyyy-MM-dd}";
        if (h.Challenger is not { } challenger) return (false, $"the challenger has no {window}.");
        var lost = new List<string>();
        // A champion that could not be scored on the holdout (its features differ from the challenger's) cannot be judged
        // beaten: the challenger stays in Staging. A baseline without a score is a constant one whose correlation is undefined.
        if (h.Champion is null) lost.Add("the champion, which could not be scored on the holdout");
        else if (!Beats(challenger, h.Champion)) lost.Add($"champion {h.Champion:G4}");
        if (gate != RetrainingOptions.ChampionOnly)
            lost.AddRange(h.Baselines.Where(b => !Beats(challenger, b.Value)).Select(b => $"{b.Key} {b.Value:G4}"));
        var scores = $"challenger {challenger:G4} vs champion {h.Champion:G4}, " +
            string.Join(", ", h.Baselines.Select(b => $"{b.Key} {b.Value:G4}"));
        return lost.Count == 0
            ? (true, $"{window}: {scores}" + (gate == RetrainingOptions.ChampionOnly ? " (gate: champion only)." : "."))
            : (false, $"{window}: {scores}; does not beat {string.Join(", ", lost)}.");
    }
}

public sealed record RetrainingTimings(TimeSpan MaxWait, TimeSpan Poll);

/// <summary>Reads the waiting limits once, so the workflow's replay sees the same values.</summary>
public sealed class RetrainingTimingsActivity(RetrainingOptions options) : WorkflowActivity<string, RetrainingTimings>
{
    public override Task<RetrainingTimings> RunAsync(WorkflowActivityContext context, string input) =>
        Task.FromResult(new RetrainingTimings(options.MaxWaitForBars, options.PollInterval));
}

/// <summary>
/// Plans from the champion's lineage and the bars in the offline store: the holdout is the last
/// <see cref="RetrainingOptions.HoldoutBars"/> decision bars whose targets are known; the challenger trains on bars
/// before it (so none of its targets reach into the holdout).
/// </summary>
public sealed class PlanRetrainingActivity(ModelRegistry registry, IBarReader bars, RetrainingOptions options)
    : WorkflowActivity<RetrainingRequest, RetrainingPlan>
{
    public override async Task<RetrainingPlan> RunAsync(WorkflowActivityContext context, RetrainingRequest input)
    {
        var ct = context.CancellationToken;
        var champion = await registry.GetVersionAsync(input.Model, ModelAliases.Champion, ct);
        var lineage = champion.Lineage;
        var interval = BarInterval.Parse(options.Interval);
        var all = await bars.GetBarsAsync(new BarQuery(lineage.Symbols[0], interval, lineage.From), ct);
        var h = lineage.Horizon;
        var after = input.After is { } a ? all.Count(b => b.Time > a) : all.Count;
        // With a wait configured, the run sees exactly the bars up to the MinBarsAfterTrigger-th bar after the drift window,
        // whenever it runs, so its windows do not depend on how far the market has moved on since.
        var series = input.After is { } end && options.MinBarsAfterTrigger > 0 && after >= options.MinBarsAfterTrigger
            ? all.Take(all.Count - after + options.MinBarsAfterTrigger).ToList()
            : all;
        var n = series.Count;
        var needed = options.HoldoutBars + h + 50;
        if (n < needed)
            return new RetrainingPlan(false, $"{n} bars of {lineage.Symbols[0]} from {lineage.From:o}; {needed} needed.", champion.Version, null, null,
                default, default, default);
        var ready = after >= options.MinBarsAfterTrigger;
        var holdoutFrom = series[n - h - options.HoldoutBars].Time;
        var holdoutTo = series[n - 1 - h].Time;
        var trainTo = series[n - h - options.HoldoutBars - 1].Time;
        var candidates = options.Candidates.Length == 0 ? null
            : options.Candidates.Select(k => TrainingRequest.DefaultCandidates.FirstOrDefault(c => c.Kind == k) ?? new ModelSpec(k)).ToList();
        var train = new TrainingRequest(lineage.Symbols, lineage.Target, h, interval.Name, lineage.From, trainTo, lineage.FeatureSet, input.Model,
            candidates, options.Folds, lineage.Seed, Promote: false);
        var full = train with { To = series[n - 1].Time };
        return new RetrainingPlan(ready, $"{after} bars after the trigger ({options.MinBarsAfterTrigger} wanted).", champion.Version, train, full,
            holdoutFrom, holdoutTo, trainTo);
    }
}

/// <summary>Moves a version to Staging or Production (no lineage policy: the holdout decided). Idempotent.</summary>
public sealed class StageModelActivity(ModelRegistry registry) : WorkflowActivity<StageInput, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, StageInput input)
    {
        var entry = await registry.GetEntryAsync(input.Model, context.CancellationToken)
            ?? throw new ModelNotFoundException($"Model '{input.Model}' is not registered.");
        var stage = entry.Stages.GetValueOrDefault(input.Version);
        if (stage == input.Stage || (input.Stage == ModelStage.Staging && entry.ChampionHistory.Contains(input.Version))) return stage.ToString();
        if (stage == ModelStage.Archived) throw new RegistryException($"{input.Model} v{input.Version} is archived.");
        var result = await registry.PromoteAsync(input.Model, input.Version, input.Stage, ct: context.CancellationToken);
        return result.Stage.ToString();
    }
}

/// <summary>
/// Scores the challenger, the champion and the target's baselines (fitted on the challenger's training data) on the
/// holdout rows, with the policy's metric, through the evaluator training validates with.
/// </summary>
public sealed class HoldoutEvaluationActivity(TrainingDatasets datasets, ModelRegistry registry) : WorkflowActivity<HoldoutInput, HoldoutReport>
{
    public override async Task<HoldoutReport> RunAsync(WorkflowActivityContext context, HoldoutInput input)
    {
        var ct = context.CancellationToken;
        var plan = input.Plan;
        var full = await datasets.GetAsync(plan.Full!, ct);
        var train = await datasets.GetAsync(plan.Train!, ct);
        var rows = Enumerable.Range(0, full.Rows)
            .Where(i => full.Times[i] >= plan.HoldoutFrom && full.Times[i] <= plan.HoldoutTo && !double.IsNaN(full.Labels[i])).ToArray();
        var (x, y) = full.Take(rows);
        var metric = plan.Train!.EffectivePolicy.Metric;
        double? Score(double[] p) => rows.Length == 0 ? null : Evaluator.Score(full, rows, y, p, out _, out _).Get(metric);

        async Task<double?> ScoreVersion(int version)
        {
            var (_, artifact) = await registry.LoadArtifactAsync(plan.Train.ModelName, version.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
            using var model = ModelFactory.Load(artifact);
            if (!model.FeatureNames.SequenceEqual(x.Names)) return null;
            return Score(model.Predict(x));
        }

        var challenger = await ScoreVersion(input.Challenger);
        var championVersion = await registry.GetVersionAsync(plan.Train.ModelName,
            plan.Champion.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
        var champion = await ScoreVersion(plan.Champion);
        var baselines = new Dictionary<string, double?>(StringComparer.Ordinal);
        var trainRows = Enumerable.Range(0, train.Rows).ToArray();
        foreach (var spec in plan.Train.Baselines)
        {
            using var baseline = Evaluator.Fit(train, trainRows, spec, plan.Train.Seed, ct);
            baselines[spec.Kind] = Score(baseline.Predict(x));
        }
        return new HoldoutReport(metric, rows.Length, plan.HoldoutFrom, plan.HoldoutTo, challenger, champion, baselines,
            championVersion.Lineage.To >= plan.HoldoutFrom);
    }
}
