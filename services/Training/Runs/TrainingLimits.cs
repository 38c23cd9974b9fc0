using Platform.Modeling.Models;
using Platform.Workflows;

namespace Platform.Training.Runs;

/// <summary>
/// What one training run may ask for (configuration section <c>Training:Limits</c>). The API checks every limit before
/// a run is created; the dataset's size is checked again, from the store's row counts, before it is materialised, so a
/// run whose data grew past the budget (or one accepted before the limits existed) fails instead of exhausting memory.
/// </summary>
public sealed class TrainingLimits
{
    public const string Section = "Training:Limits";

    /// <summary>Symbols per run.</summary>
    public int MaxSymbols { get; set; } = 100;

    /// <summary>Candidate models per run, each ensemble member counted.</summary>
    public int MaxCandidates { get; set; } = 8;

    /// <summary>Boosting rounds or trees per model (<c>num_boost_round</c> of xgboost, <c>trees</c> of fasttree and lightgbm).</summary>
    public int MaxTrees { get; set; } = 5000;

    /// <summary>Depth of an xgboost tree (<c>max_depth</c>) and leaves of an ML.NET tree (<c>leaves</c>): work grows exponentially with depth.</summary>
    public int MaxTreeDepth { get; set; } = 16;
    public int MaxLeaves { get; set; } = 1024;

    /// <summary>Random-search trials per run (<c>searchTrials</c>).</summary>
    public int MaxSearchTrials { get; set; } = 50;

    /// <summary>Rows of a run's dataset (one per symbol and decision time), estimated from the bars it would read.</summary>
    public long MaxDatasetRows { get; set; } = 500_000;

    /// <summary>Memory one run may take for its dataset, in MiB (see <see cref="EstimateBytes"/>).</summary>
    public long MemoryBudgetMiB { get; set; } = 2048;

    /// <summary>Runs started through the API that may run at once, in total and per caller.</summary>
    public int MaxConcurrentRuns { get; set; } = 4;
    public int MaxConcurrentRunsPerCaller { get; set; } = 2;

    /// <summary>
    /// Working copies of the feature matrix a run holds at its peak, garbage not yet collected included: the per-symbol
    /// features, the dataset's frame, a fold's training slice, the model library's own copy. The <c>training-memory</c>
    /// benchmark measured peaks of 67 % to 123 % of this estimate, above 100 % only on a small dataset, where the native
    /// libraries' fixed cost is most of the peak (docs/training.md).
    /// </summary>
    public const int WorkingCopies = 8;

    /// <summary>The memory a dataset of <paramref name="rows"/> rows and <paramref name="features"/> features takes at a run's peak.</summary>
    public static long EstimateBytes(long rows, int features) => rows * (features + 2L) * sizeof(double) * WorkingCopies;

    public long MemoryBudgetBytes => MemoryBudgetMiB * 1024 * 1024;

    public RunLimits Concurrency => RunLimits.OfSection(Section, MaxConcurrentRuns, MaxConcurrentRunsPerCaller);

    /// <summary>The limits the request itself exceeds (symbols, candidates, search trials), by field; empty when none.</summary>
    public Dictionary<string, string[]> Check(TrainingRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var symbols = request.Symbols?.Count ?? 0;
        if (symbols > MaxSymbols)
            errors["symbols"] = [$"{symbols} symbols; a run takes at most {MaxSymbols} ({Section}:MaxSymbols)."];
        var candidates = (request.Candidates ?? []).Sum(Count);
        if (candidates > MaxCandidates)
            errors["candidates"] = [$"{candidates} candidate models (ensemble members counted); a run trains at most {MaxCandidates} ({Section}:MaxCandidates)."];
        var sizes = SizeProblems(request.Candidates ?? [], "candidates").ToArray();
        if (sizes.Length > 0) errors["candidates.parameters"] = sizes;
        if (request.SearchTrials > MaxSearchTrials)
            errors["searchTrials"] = [$"{request.SearchTrials} search trials; a run takes at most {MaxSearchTrials} ({Section}:MaxSearchTrials)."];
        return errors;
    }

    /// <summary>The limits a dataset of <paramref name="rows"/> rows and <paramref name="features"/> features exceeds, by field.</summary>
    public Dictionary<string, string[]> CheckDataset(long rows, int features)
    {
        var errors = new Dictionary<string, string[]>();
        if (rows > MaxDatasetRows)
            errors["symbols"] = [$"The dataset would have about {rows:N0} rows; a run takes at most {MaxDatasetRows:N0} ({Section}:MaxDatasetRows). Ask for fewer symbols or a shorter range."];
        var bytes = EstimateBytes(rows, features);
        if (bytes > MemoryBudgetBytes)
            errors["memory"] = [$"The dataset ({rows:N0} rows x {features} features) would take about {bytes / (1024 * 1024):N0} MiB; a run's budget is {MemoryBudgetMiB:N0} MiB ({Section}:MemoryBudgetMiB)."];
        return errors;
    }

    /// <summary>Model parameters that set the work of one fit, each checked against its limit.</summary>
    private IEnumerable<string> SizeProblems(IReadOnlyList<ModelSpec?> specs, string path)
    {
        for (var i = 0; i < specs.Count; i++)
        {
            if (specs[i] is not { } spec) continue;
            foreach (var problem in SizeProblems(spec.Members ?? [], $"{path}[{i}].members")) yield return problem;
            foreach (var (name, max, key) in new[] { ("num_boost_round", MaxTrees, "MaxTrees"), ("trees", MaxTrees, "MaxTrees"),
                         ("max_depth", MaxTreeDepth, "MaxTreeDepth"), ("leaves", MaxLeaves, "MaxLeaves") })
            {
                if (!spec.Parameters.TryGetValue(name, out var text)) continue;
                if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value))
                    yield return $"{path}[{i}].parameters.{name}: '{text}' is not a whole number.";
                else if (value > max)
                    yield return $"{path}[{i}].parameters.{name}: {value}; at most {max} ({Section}:{key}).";
            }
        }
    }

    private static int Count(ModelSpec? spec) => spec is null ? 1 : spec.Members is { Count: > 0 } members ? 1 + members.Sum(Count) : 1;
}

/// <summary>A run's dataset exceeds a limit; thrown before the dataset is materialised, so the run fails without using the memory.</summary>
public sealed class TrainingBudgetException(string message) : Exception(message);
