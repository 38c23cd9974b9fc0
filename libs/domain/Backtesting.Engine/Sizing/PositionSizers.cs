using Platform.Quant;
using Platform.Quant.Indicators;

namespace Platform.Backtesting.Engine.Sizing;

/// <summary>
/// Turns a strategy's signal in [−1, 1] into a target weight (position value / equity) for one symbol.
/// The engine feeds it every bar before the strategy sees the bar, so it may keep its own estimates.
/// </summary>
public interface IPositionSizer
{
    string Name { get; }

    void Initialize(int symbolCount, BarInterval interval);

    void Update(int symbol, in Bar bar);

    /// <summary>The target weight, or NaN while the sizer cannot size yet (its estimates are warming up).</summary>
    double TargetWeight(int symbol, double signal);
}

/// <summary>
/// A fixed fraction of equity per symbol at full signal. Without a fraction, equity is split equally
/// across the run's symbols (1/n each).
/// </summary>
public sealed class FixedFractionSizer : IPositionSizer
{
    private double _fraction;

    public FixedFractionSizer(double? fraction = null)
    {
        if (fraction is { } f && !(f > 0 && f <= MaxFraction))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"The fraction must be in (0, {MaxFraction}].");
        Fraction = fraction;
    }

    public const double MaxFraction = 10.0;
    public double? Fraction { get; }
    public string Name => Fraction is { } f ? $"fixed fraction {f:P1}" : "equal weight";

    public void Initialize(int symbolCount, BarInterval interval) => _fraction = Fraction ?? 1.0 / symbolCount;
    public void Update(int symbol, in Bar bar) { }
    public double TargetWeight(int symbol, double signal) => signal * _fraction;
}

/// <summary>
/// Volatility targeting: weight = signal × min(max weight, target annual volatility / realised annual
/// volatility) / n, with the realised volatility the close-to-close sample deviation of log returns over
/// <c>lookback</c> bars (annualised by √bars per year). NaN until the estimate is ready.
/// </summary>
public sealed class VolatilityTargetSizer : IPositionSizer
{
    private RealizedVolatility[] _volatility = [];
    private double _annualize, _perSymbol;

    public VolatilityTargetSizer(double targetAnnualVolatility = 0.15, int lookback = 20, double maxWeight = 1.0)
    {
        if (!(targetAnnualVolatility > 0 && targetAnnualVolatility <= 10)) throw new ArgumentOutOfRangeException(nameof(targetAnnualVolatility), targetAnnualVolatility, "The target volatility must be in (0, 10].");
        if (lookback < 2) throw new ArgumentOutOfRangeException(nameof(lookback), lookback, "The lookback must be at least 2 bars.");
        if (!(maxWeight > 0 && maxWeight <= FixedFractionSizer.MaxFraction)) throw new ArgumentOutOfRangeException(nameof(maxWeight), maxWeight, "The maximum weight must be in (0, 10].");
        TargetAnnualVolatility = targetAnnualVolatility;
        Lookback = lookback;
        MaxWeight = maxWeight;
    }

    public double TargetAnnualVolatility { get; }
    public int Lookback { get; }
    public double MaxWeight { get; }
    public string Name => $"volatility target {TargetAnnualVolatility:P0} ({Lookback} bars)";

    public void Initialize(int symbolCount, BarInterval interval)
    {
        _volatility = new RealizedVolatility[symbolCount];
        for (var i = 0; i < symbolCount; i++) _volatility[i] = new RealizedVolatility(VolatilityEstimator.CloseToClose, Lookback);
        _annualize = Math.Sqrt(interval.BarsPerYear);
        _perSymbol = 1.0 / symbolCount;
    }

    public void Update(int symbol, in Bar bar) => _volatility[symbol].Update(bar);

    public double TargetWeight(int symbol, double signal)
    {
        if (signal == 0) return 0;
        var rv = _volatility[symbol];
        if (!rv.IsReady) return double.NaN;
        var annual = rv.Current * _annualize;
        var scale = annual > 0 ? Math.Min(MaxWeight, TargetAnnualVolatility / annual) : MaxWeight;
        return signal * scale * _perSymbol;
    }
}
