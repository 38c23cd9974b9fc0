using Platform.Quant;

namespace Platform.Backtesting.Engine.Costs;

/// <summary>
/// Adverse price movement per share paid by an order that takes liquidity (market orders and triggered
/// stops): a buy pays <c>price + slippage</c>, a sell receives <c>price − slippage</c>. Resting limit
/// orders fill at their price and pay none. The fill bar is the bar being traded; using its volume is the
/// usual convention (zipline's volume share model) and no decision is taken on it.
/// </summary>
public interface ISlippageModel
{
    string Name { get; }

    /// <summary>Slippage per share (≥ 0) for trading <paramref name="shares"/> (absolute) at <paramref name="price"/> on <paramref name="bar"/>.</summary>
    double PerShare(double price, long shares, in Bar bar);
}

public sealed class NoSlippage : ISlippageModel
{
    public static readonly NoSlippage Instance = new();
    public string Name => "none";
    public double PerShare(double price, long shares, in Bar bar) => 0;
}

/// <summary>A fixed number of basis points of the price.</summary>
public sealed class FixedBpsSlippage : ISlippageModel
{
    public FixedBpsSlippage(double bps)
    {
        if (!(bps >= 0 && bps <= Bps.PerUnit)) throw new ArgumentOutOfRangeException(nameof(bps), bps, "Slippage is between 0 and 10000 bp (100%).");
        BasisPoints = bps;
    }

    public double BasisPoints { get; }
    public string Name => $"{BasisPoints} bp";
    public double PerShare(double price, long shares, in Bar bar) => price * BasisPoints / Bps.PerUnit;
}

/// <summary>Crossing the spread: half of a quoted spread given in basis points of the price.</summary>
public sealed class SpreadSlippage : ISlippageModel
{
    public SpreadSlippage(double spreadBps)
    {
        if (!(spreadBps >= 0 && spreadBps <= 2 * Bps.PerUnit)) throw new ArgumentOutOfRangeException(nameof(spreadBps), spreadBps, "The spread is between 0 and 20000 bp (a half-spread of at most 100%).");
        SpreadBps = spreadBps;
    }

    public double SpreadBps { get; }
    public string Name => $"half of a {SpreadBps} bp spread";
    public double PerShare(double price, long shares, in Bar bar) => price * SpreadBps / Bps.PerUnit / 2.0;
}

/// <summary>
/// Market impact growing with the square of the share of the bar's volume taken (zipline's
/// VolumeShareSlippage): <c>price × impact × (shares / volume)²</c>; a bar without volume is charged as if the
/// order took all of it.
/// </summary>
public sealed class VolumeShareSlippage : ISlippageModel
{
    public const double DefaultPriceImpact = 0.1;

    public VolumeShareSlippage(double priceImpact = DefaultPriceImpact)
    {
        if (!(priceImpact >= 0 && priceImpact <= 1)) throw new ArgumentOutOfRangeException(nameof(priceImpact), priceImpact, "The price impact is a fraction between 0 and 1.");
        PriceImpact = priceImpact;
    }

    public double PriceImpact { get; }
    public string Name => $"volume share (impact {PriceImpact})";

    public double PerShare(double price, long shares, in Bar bar)
    {
        var share = bar.Volume > 0 ? Math.Min(1.0, shares / bar.Volume) : 1.0;
        return price * PriceImpact * share * share;
    }
}

internal static class Bps
{
    public const double PerUnit = 10_000.0;
}
