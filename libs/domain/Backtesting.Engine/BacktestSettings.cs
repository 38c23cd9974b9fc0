using Platform.Backtesting.Engine.Costs;
using Platform.Backtesting.Engine.Sizing;

namespace Platform.Backtesting.Engine;

/// <summary>How the simulated account and market behave.</summary>
public sealed record BacktestSettings
{
    public const double DefaultInitialCash = 100_000;

    public double InitialCash { get; init; } = DefaultInitialCash;
    public bool AllowShort { get; init; }

    /// <summary>Gross exposure may not exceed this multiple of equity after a fill that adds exposure (1 = no margin).</summary>
    public double MaxLeverage { get; init; } = 1.0;

    /// <summary>Largest fraction of a bar's volume one symbol may trade on that bar; null for no limit.</summary>
    public double? MaxParticipation { get; init; }

    public ICommissionModel Commission { get; init; } = NoCommission.Instance;
    public ISlippageModel Slippage { get; init; } = NoSlippage.Instance;
    public IPositionSizer Sizer { get; init; } = new FixedFractionSizer();

    public void Validate()
    {
        if (!(InitialCash > 0) || double.IsInfinity(InitialCash)) throw new ArgumentOutOfRangeException(nameof(InitialCash), InitialCash, "Initial cash must be positive.");
        if (!(MaxLeverage > 0) || double.IsInfinity(MaxLeverage)) throw new ArgumentOutOfRangeException(nameof(MaxLeverage), MaxLeverage, "The leverage limit must be positive.");
        if (MaxParticipation is { } p && !(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(MaxParticipation), p, "Participation is a fraction of volume in (0, 1].");
    }
}
