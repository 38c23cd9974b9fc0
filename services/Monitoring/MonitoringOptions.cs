namespace Platform.Monitoring;

/// <summary>Configuration section <c>Monitoring</c>.</summary>
public sealed class MonitoringOptions
{
    public OutcomeOptions Outcomes { get; set; } = new();
    public DriftOptions Drift { get; set; } = new();
    public QualityOptions Quality { get; set; } = new();

    /// <summary>Refuses settings the loop cannot run with, naming the key.</summary>
    public void Validate()
    {
        if (Drift.MaxEvaluationsPerJoin < 1)
            throw new InvalidOperationException(
                $"Monitoring:Drift:MaxEvaluationsPerJoin is {Drift.MaxEvaluationsPerJoin}: it must be at least 1 (default {DriftOptions.DefaultMaxEvaluationsPerJoin}).");
    }
}

public sealed class OutcomeOptions
{
    /// <summary>Pending predictions of one series read per pass when a bar arrives.</summary>
    public int BatchSize { get; set; } = 5000;

    /// <summary>Bars behind the trailing baselines (realised volatility, mean return, share of up bars).</summary>
    public int TrailingBars { get; set; } = 22;
}

public sealed class DriftOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Joined outcomes of the served version in one window (the most recent ones at the window end).</summary>
    public int WindowSize { get; set; } = 60;

    /// <summary>Quantile bins of the reference distribution used for the PSI.</summary>
    public int Bins { get; set; } = 10;

    /// <summary>PSI above this is a breach (0.25 is the usual "significant shift").</summary>
    public double PsiThreshold { get; set; } = 0.25;

    /// <summary>
    /// Significance of the two-sample Kolmogorov-Smirnov test: the KS statistic breaches above
    /// c(alpha) * sqrt((n + m) / (n * m)), with n and m the effective sample sizes (counts divided by the horizon, since
    /// targets over h bars overlap).
    /// </summary>
    public double KsAlpha { get; set; } = 0.001;

    /// <summary>
    /// A subject drifts when both its PSI and its KS statistic breach (<c>true</c>, fewer false alarms) or when either
    /// does (<c>false</c>).
    /// </summary>
    public bool RequireBoth { get; set; } = true;

    /// <summary>Bars after a detection during which no new detection is raised for the same model version.</summary>
    public int QuietBars { get; set; } = 60;

    /// <summary>
    /// Window ends one join evaluates per model version, at most. A join that catches up (the bars ran ahead of the
    /// predictions, an import, a monitor that was down) can settle thousands of windows at once, and each evaluation reads
    /// its window and recomputes its features; past this bound the join evaluates every k-th window end counted back from
    /// the newest (k = the ends over the bound, rounded up), logs that it did, and counts the ends it left out
    /// (<c>monitoring_drift_windows_skipped</c>).
    /// </summary>
    public int MaxEvaluationsPerJoin { get; set; } = DefaultMaxEvaluationsPerJoin;

    public const int DefaultMaxEvaluationsPerJoin = 100;

    /// <summary>Share of the profiled features that must drift (PSI and KS, as above) for the inputs to count as drifting.</summary>
    public double FeatureShare { get; set; } = 0.25;

    /// <summary>Features named in the evidence and exported as metrics: those with the largest PSI.</summary>
    public int TopFeatures { get; set; } = 5;

    /// <summary>
    /// Quality decay: how far the live ranking metric (rank IC, hit rate; QLIKE rises) over the window may fall short of
    /// the version's validation score before it counts as decayed.
    /// </summary>
    public double QualityDecayThreshold { get; set; } = 0.1;

    /// <summary>Which subjects raise <c>DriftDetected</c>; the others are measured, exported and stored with a detection.</summary>
    public DriftTriggers Triggers { get; set; } = new();
}

/// <summary>
/// The realised target is the calibrated trigger (detection delay and false alarms in docs/benchmarks.md); predictions,
/// features and quality decay are measured on every window and can be made triggers too.
/// </summary>
public sealed class DriftTriggers
{
    public bool Target { get; set; } = true;
    public bool Predictions { get; set; }
    public bool Features { get; set; }
    public bool Quality { get; set; }
}

public sealed class QualityOptions
{
    /// <summary>Trailing windows (joined outcomes) reported by the quality API when none are asked for.</summary>
    public int[] Windows { get; set; } = [20, 60, 250];

    public int MaxWindow { get; set; } = 10_000;
}
