namespace Platform.Quant;

/// <summary>
/// One OHLCV bar. <see cref="Time"/> is the bar's open time in UTC. Adjusted close and VWAP are optional
/// because most vendors publish only one of them.
/// </summary>
public readonly record struct Bar(
    DateTimeOffset Time, double Open, double High, double Low, double Close, double Volume,
    double? AdjClose = null, double? Vwap = null)
{
    /// <summary>(high + low + close) / 3, the usual stand-in for VWAP when a vendor gives none.</summary>
    public double TypicalPrice => (High + Low + Close) / 3.0;
}

/// <summary>A bar of a named instrument at a given interval.</summary>
public readonly record struct SymbolBar(string Symbol, BarInterval Interval, Bar Bar);
