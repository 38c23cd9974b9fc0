namespace Platform.Training.Retraining;

/// <summary>Configuration section <c>Training:Retraining</c>; <see cref="Models"/> overrides per model name.</summary>
public sealed class RetrainingOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>At most one retraining per model within this period (drift events in between are recorded and skipped).</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Retrain every model with a champion this often (a schedule next to drift); null turns the schedule off. Each
    /// scheduled run still respects <see cref="Cooldown"/>.
    /// </summary>
    public TimeSpan? Every { get; set; }

    /// <summary>Bar interval of the retraining datasets (the registry lineage does not record one).</summary>
    public string Interval { get; set; } = "1d";

    /// <summary>
    /// The recent window, in bars with known targets, that neither the champion nor the challenger trains on: both are
    /// scored on it, with the baselines, and the challenger is promoted only if it beats them all.
    /// </summary>
    public int HoldoutBars { get; set; } = 60;

    /// <summary>Bars that must exist after the drift window's end before retraining starts (so the new regime is in the data).</summary>
    public int MinBarsAfterTrigger { get; set; } = 0;

    /// <summary>How long a run waits for those bars before training on what there is.</summary>
    public TimeSpan MaxWaitForBars { get; set; } = TimeSpan.FromHours(6);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Candidate model kinds (<c>ridge</c>, <c>xgboost</c>); empty uses the training defaults.</summary>
    public string[] Candidates { get; set; } = [];

    public int Folds { get; set; } = 5;

    /// <summary><c>auto</c> promotes a challenger that wins on the holdout; <c>manual</c> leaves every challenger in Staging.</summary>
    public string Policy { get; set; } = "auto";

    /// <summary>
    /// What the challenger must beat on the holdout: <c>champion-and-baselines</c> (the default: the champion and every
    /// baseline of the target) or <c>champion</c> (the champion only; the baselines' scores are still reported).
    /// </summary>
    public string Gate { get; set; } = ChampionAndBaselines;

    public const string ChampionAndBaselines = "champion-and-baselines";
    public const string ChampionOnly = "champion";

    public Dictionary<string, ModelRetrainingOptions> Models { get; set; } = new(StringComparer.Ordinal);

    public string PolicyFor(string model) => Models.TryGetValue(model, out var m) && m.Policy is { Length: > 0 } p ? p : Policy;
    public bool EnabledFor(string model) => Enabled && (!Models.TryGetValue(model, out var m) || m.Enabled != false);
}

public sealed class ModelRetrainingOptions
{
    public string? Policy { get; set; }
    public bool? Enabled { get; set; }
}
