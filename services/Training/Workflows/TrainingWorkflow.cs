using Platform.ServiceDefaults;
using Dapr.Workflow;
using System.Collections.Concurrent;
using Platform.Modeling.Datasets;
using Platform.Modeling.Drift;
using Platform.Modeling.Models;
using Platform.Modeling.Registry;
using Platform.Modeling.Search;
using Platform.Modeling.Validation;
using Platform.Training.Data;
using Platform.Training.Runs;
using Platform.Training.Testing;
using Platform.Workflows;

namespace Platform.Training.Workflows;

public sealed record DatasetSummary(string Fingerprint, int Rows, int Features, IReadOnlyList<string> Symbols,
    DateTimeOffset From, DateTimeOffset To, string FeatureSet, string FeatureSetHash, string DataSource = DataSources.Store,
    DateTimeOffset? FinalFrom = null, DateTimeOffset? FinalTo = null, int FinalRows = 0, int InnerRows = 0, string? CodeVersion = null);

public sealed record CandidateInput(TrainingRequest Request, ModelSpec Spec, bool Search);

public sealed record RegisterInput(TrainingRequest Request, ValidationReport Winner, DatasetSummary Dataset, GateDecision Gate,
    IReadOnlyList<ValidationReport>? Baselines = null, IReadOnlyList<ValidationReport>? Candidates = null);

public sealed record PromoteInput(TrainingRequest Request, int Version);

/// <summary>The current champion re-scored on this run's final period (<see cref="Final"/> null when it could not be, with the reason).</summary>
public sealed record ChampionScore(int Version, string Kind, MetricSet? Final, string? Note);

/// <summary>
/// What a finished run reports: every model's walk-forward report (inner folds) and final-period score, the winner,
/// the champion re-scored, the gate's verdict, the registered version and its stage.
/// </summary>
public sealed record TrainingOutcome(string Model, DatasetSummary Dataset, IReadOnlyList<ValidationReport> Baselines,
    IReadOnlyList<ValidationReport> Candidates, string Winner, int Version, string ArtifactSha256, string Stage, string Decision,
    ChampionScore? Champion = null, GateDecision? Gate = null, string? Metric = null);

/// <summary>The run's step as shown by GET /v1/training-runs/{id}.</summary>
public sealed record TrainingStatus(string Step, int Done, int Total);

/// <summary>
/// A training run as a durable workflow. Each step is an activity whose result the runner checkpoints: a process
/// killed mid-run resumes after the last completed step. Steps: load the dataset, validate the baselines, train and
/// walk-forward-validate each candidate, pick the winner (workflow code, deterministic), register it (idempotent by
/// run id), promote it if the policy allows. The registry publishes ModelRegistered/ModelPromoted after each commit. The
/// step is the custom status (<see cref="TrainingStatus"/>), which both engines report; the run's end is published as
/// <see cref="WorkflowStatusChanged"/> on both (<see cref="WorkflowStatusEvents"/>).
/// </summary>
public sealed class TrainingWorkflow : Workflow<TrainingRequest, TrainingOutcome>
{
    public override Task<TrainingOutcome> RunAsync(WorkflowContext context, TrainingRequest input) =>
        context.PublishingStatusAsync(() => TrainAsync(context, input));

    private static async Task<TrainingOutcome> TrainAsync(WorkflowContext context, TrainingRequest input)
    {
        var candidates = input.EffectiveCandidates;
        var total = 3 + input.Baselines.Count + candidates.Count + 2;
        var done = 0;
        void Status(string step) => context.SetCustomStatus(new TrainingStatus(step, done, total));

        Status("load-dataset");
        var dataset = await context.CallActivityAsync<DatasetSummary>(nameof(LoadDatasetActivity), input);
        done++;
        var baselines = new List<ValidationReport>();
        foreach (var spec in input.Baselines)
        {
            Status("validate-baseline:" + spec.Kind);
            baselines.Add(await context.CallActivityAsync<ValidationReport>(nameof(EvaluateCandidateActivity), new CandidateInput(input, spec, false)));
            done++;
        }
        var reports = new List<ValidationReport>();
        foreach (var spec in candidates)
        {
            Status("train:" + spec.Describe());
            reports.Add(await context.CallActivityAsync<ValidationReport>(nameof(EvaluateCandidateActivity),
                new CandidateInput(input, spec, input.SearchTrials > 0 && spec.Kind == ModelKinds.XGBoost)));
            done++;
        }

        Status("evaluate");
        var policy = input.EffectivePolicy;
        var higher = MetricSet.HigherIsBetter(policy.Metric);
        var available = reports.Where(r => r.Unavailable is null).ToList();
        if (available.Count == 0)
            throw new InvalidOperationException("No candidate could run: " + string.Join(" ", reports.Select(r => $"{r.Model}: {r.Unavailable}")));
        var scored = available.Where(r => r.Score(policy.Metric).HasValue).ToList();
        var winner = scored.Count == 0 ? available[0]
            : higher ? scored.MaxBy(r => r.Score(policy.Metric)!.Value)! : scored.MinBy(r => r.Score(policy.Metric)!.Value)!;
        done++;

        Status("score-champion");
        var champion = await context.CallActivityAsync<ChampionScore?>(nameof(ScoreChampionActivity), input);
        var gate = PromotionGate.Decide(policy.Metric, new GateEntry(winner.Model, winner.Final?.Get(policy.Metric)),
            baselines.Select(b => new GateEntry(b.Model, b.Final?.Get(policy.Metric))).ToList(),
            champion is null ? null : new GateEntry($"v{champion.Version} ({champion.Kind})", champion.Final?.Get(policy.Metric)),
            policy.MinImprovement, policy.Relative);
        done++;

        Status("register");
        var version = await context.CallActivityAsync<ModelVersion>(nameof(RegisterModelActivity), new RegisterInput(input, winner, dataset, gate, baselines, reports));
        done++;

        var stage = version.Stage.ToString();
        var decision = gate.Promote ? "Registered; promotion not requested. " + gate.Reason : "Registered, kept out of Production: " + gate.Reason;
        if (input.Promote && gate.Promote)
        {
            Status("promote");
            var result = await context.CallActivityAsync<TransitionResult>(nameof(PromoteModelActivity), new PromoteInput(input, version.Version));
            stage = result.Stage.ToString();
            decision = result.Transition == "none" ? result.Reason : "Promoted: " + gate.Reason;
        }
        done++;
        Status("completed");
        return new TrainingOutcome(input.ModelName, dataset, baselines, reports, winner.Model, version.Version, version.ArtifactSha256, stage, decision,
            champion, gate, policy.Metric);
    }
}

/// <summary>Live progress inside a long activity (fold k of n), kept in memory: the checkpointed status gives the step.</summary>
public sealed class TrainingProgress
{
    private readonly ConcurrentDictionary<string, string> _detail = new(StringComparer.Ordinal);
    public void Set(string runId, string detail) => _detail[runId] = detail;
    public string? Get(string runId) => _detail.GetValueOrDefault(runId);
    public void Remove(string runId) => _detail.TryRemove(runId, out _);
}

public sealed class LoadDatasetActivity(TrainingDatasets datasets) : WorkflowActivity<TrainingRequest, DatasetSummary>
{
    public override async Task<DatasetSummary> RunAsync(WorkflowActivityContext context, TrainingRequest input)
    {
        var ds = await datasets.GetAsync(input, context.CancellationToken);
        var split = HoldoutSplit.Create(ds, input.FinalFraction);
        return new(ds.Fingerprint, ds.Rows, ds.Frame.Columns, ds.Symbols, ds.Spec.From, ds.Spec.To, ds.Spec.Features.Id, ds.Spec.Features.Hash,
            input.DataSource, split.FinalStart, split.FinalEnd, split.Final.Length, split.Inner.Length, Modeling.Registry.CodeVersion.Current);
    }
}

/// <summary>
/// Walk-forward validation of one model spec (or a random search around it, scored the same way). A candidate whose
/// native library cannot be loaded is reported as unavailable, with the loader's message, instead of failing the run.
/// </summary>
public sealed class EvaluateCandidateActivity(TrainingDatasets datasets, TrainingProgress progress, ICandidateRuntime runtime, HaltPoints? halts = null)
    : WorkflowActivity<CandidateInput, ValidationReport>
{
    public override async Task<ValidationReport> RunAsync(WorkflowActivityContext context, CandidateInput input)
    {
        var target = input.Request.TargetSpec.Id;
        if (runtime.Unavailable(input.Spec) is { } reason) return ValidationReport.ForUnavailable(input.Spec, target, reason);
        try
        {
            return await EvaluateAsync(context, input);
        }
        catch (ModelUnavailableException ex)
        {
            return ValidationReport.ForUnavailable(input.Spec, target, ex.Message);
        }
    }

    private async Task<ValidationReport> EvaluateAsync(WorkflowActivityContext context, CandidateInput input)
    {
        var ct = context.CancellationToken;
        var ds = await datasets.GetAsync(input.Request, ct);
        var split = HoldoutSplit.Create(ds, input.Request.FinalFraction);
        var folds = split.InnerFolds(ds, input.Request.WalkForward);
        var id = context.InstanceId;
        halts?.Reach(KillPoints.Train);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var report = await LongWork.RunAsync(() => Select(ds, folds, input, id, ct), ct);
        // Selection is over: refit on every inner row (XGBoost with the rounds chosen in validation) and score the
        // untouched final period once.
        var refit = FinalPeriod.RefitSpec(report.Spec, report.Folds);
        progress.Set(id, $"{report.Model}: final period");
        var final = await LongWork.RunAsync(() => FinalPeriod.Score(ds, split, refit, input.Request.Seed, ct), ct);
        return report with { Final = final, Refit = refit, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3) };
    }

    private ValidationReport Select(Dataset ds, IReadOnlyList<Fold> folds, CandidateInput input, string id, CancellationToken ct)
    {
        if (!input.Search)
            return Evaluator.Evaluate(ds, folds, input.Spec, input.Request.Seed,
                new Progress<Evaluator.Progress>(p => progress.Set(id, $"{p.Model}: fold {p.Fold + 1}/{p.Folds}")), ct);
        var space = new Dictionary<string, ParameterDomain>
        {
            ["max_depth"] = new IntRange(2, 8),
            ["eta"] = new LogUniform(0.01, 0.3),
            ["subsample"] = new Uniform(0.5, 1.0),
            ["colsample_bytree"] = new Uniform(0.3, 1.0),
            ["min_child_weight"] = new LogUniform(1, 100),
        };
        var result = HyperparameterSearch.Run(ds, folds,
            new SearchOptions(input.Spec, space, input.Request.EffectivePolicy.Metric, MaxTrials: input.Request.SearchTrials, Seed: input.Request.Seed),
            t => progress.Set(id, $"search trial {t.Number}/{input.Request.SearchTrials}"), ct);
        return result.Best.Report with { SearchTrials = result.Trials.Select(t => t.Report).ToList() };
    }
}

/// <summary>
/// Fits the winner on the whole dataset and registers it with its lineage. Registration is idempotent by run id
/// (the workflow instance id): a resumed run gets the version it registered before the crash.
/// </summary>
public sealed class RegisterModelActivity(TrainingDatasets datasets, ModelRegistry registry, ILogger<RegisterModelActivity> logger, HaltPoints? halts = null)
    : WorkflowActivity<RegisterInput, ModelVersion>
{
    public override async Task<ModelVersion> RunAsync(WorkflowActivityContext context, RegisterInput input)
    {
        var ct = context.CancellationToken;
        var request = input.Request;
        var runId = context.InstanceId;
        var ds = await datasets.GetAsync(request, ct);
        if (ds.Fingerprint != input.Dataset.Fingerprint)
            throw new InvalidOperationException($"The dataset changed since validation ({ds.Fingerprint} vs {input.Dataset.Fingerprint}).");
        byte[] artifact;
        // The production model sees every row, the newest included: the refit spec has no early-stopping hold-out.
        var spec = input.Winner.Refit ?? FinalPeriod.RefitSpec(input.Winner.Spec, input.Winner.Folds);
        using (var model = await LongWork.RunAsync(() => Evaluator.Fit(ds, Enumerable.Range(0, ds.Rows).ToArray(), spec, request.Seed, ct), ct))
            artifact = model.ToArtifact();
        var (header, _) = ModelArtifact.Read(artifact);
        var winner = input.Winner;
        var lineage = new ModelLineage(ds.Fingerprint, ds.Spec.Features.Id, ds.Spec.Features.Hash, request.TargetSpec.Kind.ToString().ToLowerInvariant(),
            request.Horizon, ds.Symbols, ds.Spec.From, ds.Spec.To, winner.Spec.Kind, header.Parameters.Count > 0 ? header.Parameters : winner.Spec.Parameters,
            request.Seed, winner.Folds, winner.Aggregate, winner.Icir, winner.RankIcir, CodeVersion.Current, request.DataSource,
            winner.Final, input.Dataset.FinalFrom, input.Dataset.FinalTo, input.Gate.Reason);
        var version = await registry.RegisterAsync(request.ModelName, artifact, lineage, runId, ct);
        halts?.Reach(KillPoints.AfterRegister);
        var final = await LongWork.RunAsync(() => ScoreFinalPeriod(ds, request, spec, ct), ct);
        // Monitoring measures live inputs and outputs against this reference, so it is stored before the activity completes
        // (a retry registers nothing new: registration is idempotent per run).
        var reference = ModelReference.Build(ds, final.Predicted, lineage.FinalFrom, lineage.FinalTo);
        await registry.SaveFilesAsync(request.ModelName, version.Version, [reference.ToFile()], ct);
        try
        {
            var files = await Task.Run(() => Report(input, final, version, lineage), ct);
            await registry.SaveFilesAsync(request.ModelName, version.Version, files, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The version is registered either way; a card or plot that cannot be rendered is logged, not fatal.
            logger.LogWarning(ex, "Could not store the model card and plots of {Model} v{Version}", request.ModelName, version.Version);
        }
        return version;
    }

    /// <summary>The final period's targets and the predictions of the winner refitted on the inner rows (as scored).</summary>
    private sealed record FinalPeriodFit(double[] Realised, double[] Predicted, IReadOnlyDictionary<string, double> Importance);

    private static FinalPeriodFit ScoreFinalPeriod(Dataset ds, TrainingRequest request, ModelSpec spec, CancellationToken ct)
    {
        var split = HoldoutSplit.Create(ds, request.FinalFraction);
        var (x, y) = ds.Take(split.Final);
        using var model = Evaluator.Fit(ds, split.Inner, spec, request.Seed, ct);
        return new FinalPeriodFit(y, model.Predict(x), model.FeatureImportance());
    }

    /// <summary>The model card and plots.</summary>
    private static IReadOnlyList<Modeling.Reports.ReportFile> Report(RegisterInput input, FinalPeriodFit final, ModelVersion version, ModelLineage lineage)
    {
        var request = input.Request;
        var metric = request.EffectivePolicy.Metric;
        var rows = (input.Baselines ?? []).Select(r => (r, true)).Concat((input.Candidates ?? [input.Winner]).Select(r => (r, false)))
            .Where(t => t.r.Unavailable is null)
            .Select(t => new Modeling.Reports.CardRow(t.r.Model, t.Item2, t.r.Aggregate, t.r.Final, t.r.Final?.Get(metric)))
            .ToList();
        return Modeling.Reports.ModelReport.Build(new Modeling.Reports.ModelCardInput(request.ModelName, version.Version, input.Winner.Model,
            lineage.Target, lineage.Horizon, lineage.Symbols, lineage.From, lineage.To, request.DataSource, lineage.DatasetFingerprint,
            lineage.FeatureSet, lineage.FeatureSetHash, lineage.FinalFrom, lineage.FinalTo, metric, input.Gate.Reason, rows, input.Winner.Folds,
            final.Importance, final.Realised, final.Predicted, lineage.CodeVersion));
    }
}

/// <summary>
/// Re-scores the current champion on this run's final period. When the champion's training data ended before the
/// final period, its stored artifact predicts the final rows as it is (truly out of sample). Otherwise it has seen
/// that period, so its recipe (kind and parameters from its lineage) is refitted on the same inner rows as the
/// challenger and scored there; an ensemble, whose members the lineage does not list, is scored as stored (which
/// favours it). Null when there is no champion.
/// </summary>
public sealed class ScoreChampionActivity(TrainingDatasets datasets, ModelRegistry registry) : WorkflowActivity<TrainingRequest, ChampionScore?>
{
    public override async Task<ChampionScore?> RunAsync(WorkflowActivityContext context, TrainingRequest input)
    {
        var ct = context.CancellationToken;
        var entry = await registry.GetEntryAsync(input.ModelName, ct);
        if (entry?.Champion is not { } champion) return null;
        var (version, bytes) = await registry.LoadArtifactAsync(input.ModelName, ModelAliases.Champion, ct);
        var lineage = version.Lineage;
        var ds = await datasets.GetAsync(input, ct);
        if (lineage.FeatureSetHash != ds.Spec.Features.Hash || lineage.Horizon != input.Horizon
            || !string.Equals(lineage.Target, input.TargetSpec.Kind.ToString(), StringComparison.OrdinalIgnoreCase))
            return new ChampionScore(champion, lineage.Kind, null,
                $"The champion uses {lineage.FeatureSet} for {lineage.Target} h{lineage.Horizon}: it cannot be scored on this dataset.");
        var split = HoldoutSplit.Create(ds, input.FinalFraction);
        try
        {
            if (lineage.To < split.FinalStart || lineage.Kind == ModelKinds.Ensemble)
            {
                using var model = ModelFactory.Load(bytes);
                var note = lineage.To < split.FinalStart ? "Stored artifact, trained before the final period."
                    : "Stored artifact; it was trained on data that overlaps the final period, which favours it.";
                return new ChampionScore(champion, lineage.Kind, await Task.Run(() => FinalPeriod.Score(ds, split, model), ct), note);
            }
            var recipe = new ModelSpec(lineage.Kind, new SortedDictionary<string, string>(lineage.Parameters, StringComparer.Ordinal));
            var final = await LongWork.RunAsync(() => FinalPeriod.Score(ds, split, recipe, lineage.Seed), ct);
            return new ChampionScore(champion, lineage.Kind, final, "Recipe refitted on this run's inner rows: the stored model has seen the final period.");
        }
        catch (Exception ex) when (ex is ModelUnavailableException or ModelSpecException)
        {
            return new ChampionScore(champion, lineage.Kind, null, ex.Message);
        }
    }
}

/// <summary>
/// Stages the new version as challenger, then promotes it to Production. The workflow calls it only when the gate
/// (final period, baselines, champion re-scored) allowed it. Idempotent: a version already in its target stage is
/// left as it is.
/// </summary>
public sealed class PromoteModelActivity(ModelRegistry registry) : WorkflowActivity<PromoteInput, TransitionResult>
{
    public override async Task<TransitionResult> RunAsync(WorkflowActivityContext context, PromoteInput input)
    {
        var ct = context.CancellationToken;
        var name = input.Request.ModelName;
        var entry = await registry.GetEntryAsync(name, ct) ?? throw new ModelNotFoundException($"Model '{name}' is not registered.");
        var stage = entry.Stages.GetValueOrDefault(input.Version);
        if (stage == ModelStage.Production || stage == ModelStage.Archived || entry.ChampionHistory.Contains(input.Version))
            return new TransitionResult(name, input.Version, stage, entry.Champion, entry.Challenger, "none", $"Already {stage}.");
        if (stage != ModelStage.Staging) await registry.PromoteAsync(name, input.Version, ModelStage.Staging, ct: ct);
        try
        {
            return await registry.PromoteAsync(name, input.Version, ModelStage.Production, null, ct);
        }
        catch (PromotionRejectedException ex)
        {
            var now = await registry.GetEntryAsync(name, ct);
            return new TransitionResult(name, input.Version, ModelStage.Staging, now?.Champion, now?.Challenger, "kept-staging", ex.Decision.Reason);
        }
    }
}
