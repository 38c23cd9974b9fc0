namespace Platform.Backtesting.Engine;

/// <summary>What strategies, sizers and observers may read of the portfolio.</summary>
public interface IPortfolioView
{
    double Cash { get; }
    long Position(int symbol);
    /// <summary>The price the symbol is marked at: its last close, or the matched price during fills.</summary>
    double MarkPrice(int symbol);
    /// <summary>Σ quantity × mark over held symbols (negative for a net short book).</summary>
    double PositionValue { get; }
    /// <summary>Σ |quantity × mark|.</summary>
    double GrossExposure { get; }
    /// <summary>Cash + position value.</summary>
    double Equity { get; }
}

/// <summary>
/// Cash and positions in whole shares. A short sale credits its proceeds to cash and holds a negative
/// position, so equity = cash + Σ quantity × mark holds for long and short books alike. Position value is
/// recomputed from the held symbols on each read, so it never drifts from the quantities.
/// </summary>
public sealed class Portfolio : IPortfolioView
{
    private readonly long[] _quantity;
    private readonly double[] _mark;
    private readonly List<int> _held = [];

    public Portfolio(int symbolCount, double initialCash)
    {
        _quantity = new long[symbolCount];
        _mark = new double[symbolCount];
        Cash = initialCash;
    }

    public double Cash { get; private set; }
    public long Position(int symbol) => _quantity[symbol];
    public double MarkPrice(int symbol) => _mark[symbol];
    public IReadOnlyList<int> HeldSymbols => _held;

    public double PositionValue
    {
        get
        {
            double value = 0;
            foreach (var s in _held) value += _quantity[s] * _mark[s];
            return value;
        }
    }

    public double GrossExposure
    {
        get
        {
            double value = 0;
            foreach (var s in _held) value += Math.Abs(_quantity[s] * _mark[s]);
            return value;
        }
    }

    public double Equity => Cash + PositionValue;

    /// <summary>Position value and gross exposure in one pass over the held symbols.</summary>
    public void Value(out double positionValue, out double grossExposure)
    {
        double value = 0, gross = 0;
        foreach (var s in _held)
        {
            var v = _quantity[s] * _mark[s];
            value += v;
            gross += Math.Abs(v);
        }
        positionValue = value;
        grossExposure = gross;
    }

    internal void Mark(int symbol, double price) => _mark[symbol] = price;

    internal void Apply(in Fill fill)
    {
        Cash += fill.CashFlow;
        var before = _quantity[fill.Symbol];
        var after = before + fill.Quantity;
        _quantity[fill.Symbol] = after;
        if (before == 0 && after != 0) _held.Add(fill.Symbol);
        else if (before != 0 && after == 0) _held.Remove(fill.Symbol);
    }
}
