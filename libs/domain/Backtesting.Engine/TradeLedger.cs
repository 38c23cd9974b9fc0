namespace Platform.Backtesting.Engine;

public enum TradeSide { Long, Short }

/// <summary>
/// A round trip: a position from flat back to flat (a reversal closes one trade and opens the next). Prices
/// are average matched prices before slippage; slippage and commission are itemized, and
/// <c>NetPnl = GrossPnl − Slippage − Commission</c>. An open trade at the end of a run is marked at the last close.
/// </summary>
public sealed record Trade(
    string Symbol, TradeSide Side, DateTimeOffset EntryTime, DateTimeOffset ExitTime, int BarsHeld,
    long Quantity, double EntryPrice, double ExitPrice, double GrossPnl, double Commission, double Slippage,
    double NetPnl, double Return, bool IsOpen);

/// <summary>Builds round-trip trades from fills, splitting a reversing fill's costs pro rata between the two trades.</summary>
internal sealed class TradeLedger(IReadOnlyList<string> symbols)
{
    private sealed class OpenTrade
    {
        public long Quantity;
        public long MaxQuantity;
        public double AverageEntry;
        public DateTimeOffset EntryTime;
        public int EntryIndex;
        public double Commission, Slippage, Realized, ExitValue;
        public long ExitQuantity;
        public TradeSide Side;
    }

    private readonly OpenTrade?[] _open = new OpenTrade?[symbols.Count];
    private readonly List<Trade> _closed = [];

    public IReadOnlyList<Trade> Closed => _closed;

    public void OnFill(Fill fill)
    {
        var remaining = Math.Abs(fill.Quantity);
        var total = remaining;
        var direction = Math.Sign(fill.Quantity);
        var trade = _open[fill.Symbol];

        if (trade is not null && Math.Sign(trade.Quantity) != direction)
        {
            var closing = Math.Min(remaining, Math.Abs(trade.Quantity));
            var share = (double)closing / total;
            trade.Realized += closing * (fill.Price - trade.AverageEntry) * Math.Sign(trade.Quantity);
            trade.ExitValue += closing * fill.Price;
            trade.ExitQuantity += closing;
            trade.Commission += share * fill.Commission;
            trade.Slippage += share * fill.SlippageCost;
            trade.Quantity += direction * closing;
            remaining -= closing;
            if (trade.Quantity == 0)
            {
                _closed.Add(Close(fill.Symbol, trade, fill.Time, fill.TimeIndex, exitPrice: trade.ExitValue / trade.ExitQuantity, isOpen: false, markPrice: 0));
                _open[fill.Symbol] = trade = null;
            }
        }
        if (remaining == 0) return;

        var part = (double)remaining / total;
        if (trade is null)
        {
            trade = new OpenTrade
            {
                EntryTime = fill.Time, EntryIndex = fill.TimeIndex, AverageEntry = fill.Price,
                Side = direction > 0 ? TradeSide.Long : TradeSide.Short,
            };
            _open[fill.Symbol] = trade;
        }
        else
        {
            var held = Math.Abs(trade.Quantity);
            trade.AverageEntry = (trade.AverageEntry * held + fill.Price * remaining) / (held + remaining);
        }
        trade.Quantity += direction * remaining;
        trade.MaxQuantity = Math.Max(trade.MaxQuantity, Math.Abs(trade.Quantity));
        trade.Commission += part * fill.Commission;
        trade.Slippage += part * fill.SlippageCost;
    }

    /// <summary>Closed trades followed by the still-open ones marked at <paramref name="markPrice"/>.</summary>
    public List<Trade> AllTrades(Func<int, double> markPrice, DateTimeOffset end, int endIndex)
    {
        var all = new List<Trade>(_closed);
        for (var s = 0; s < _open.Length; s++)
        {
            if (_open[s] is not { } trade) continue;
            var mark = markPrice(s);
            all.Add(Close(s, trade, end, endIndex, mark, isOpen: true, markPrice: mark));
        }
        return all;
    }

    private Trade Close(int symbol, OpenTrade t, DateTimeOffset exitTime, int exitIndex, double exitPrice, bool isOpen, double markPrice)
    {
        var gross = t.Realized;
        if (isOpen) gross += t.Quantity * (markPrice - t.AverageEntry);
        var net = gross - t.Slippage - t.Commission;
        var basis = t.MaxQuantity * t.AverageEntry;
        return new Trade(symbols[symbol], t.Side,
            t.EntryTime, exitTime, exitIndex - t.EntryIndex, t.MaxQuantity, t.AverageEntry, exitPrice, gross, t.Commission, t.Slippage,
            net, basis > 0 ? net / basis : 0, isOpen);
    }
}
