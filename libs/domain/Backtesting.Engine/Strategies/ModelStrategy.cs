using Platform.Backtesting.Engine.Modeling;
using Platform.Quant;
using Platform.Quant.Indicators;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>One walk-forward window: the model used in [TestFrom, TestTo] learned only from bars in [TrainFrom, TestFrom).</summary>
public sealed record WalkForwardWindow(int Index, DateTimeOffset TrainFrom, DateTimeOffset TestFrom, DateTimeOffset TestTo, int TrainingBars);

/// <summary>
/// Model-driven, walk-forward: the timeline is cut into test windows of <c>testBars</c>; before each one a
/// model is trained (through <see cref="IWindowModelTrainer"/>) on the preceding <c>trainBars</c> of every
/// symbol, strictly before the window starts, and used only inside it. The signal is the sign of the
/// predicted next log return beyond a dead band. Nothing is traded before the first window.
/// </summary>
public sealed class ModelStrategy : IStrategy
{
    private readonly List<WalkForwardWindow> _windows = [];
    private List<Bar>[] _history = [];
    private RingBuffer<double>[] _returns = [];
    private DateTimeOffset[] _starts = [];
    private DateTimeOffset[] _timeline = [];
    private int _next;
    private IReturnModel? _model;
    private double[] _features = [];
    private readonly CancellationToken _ct;

    public ModelStrategy(IWindowModelTrainer trainer, int lags = 5, int trainBars = 252, int testBars = 63, double threshold = 0.0, CancellationToken ct = default)
    {
        if (lags < 1) throw new ArgumentOutOfRangeException(nameof(lags), lags, "At least one lag is needed.");
        if (trainBars < lags + 2) throw new ArgumentOutOfRangeException(nameof(trainBars), trainBars, "The training window must be longer than the lags.");
        if (testBars < 1) throw new ArgumentOutOfRangeException(nameof(testBars), testBars, "The test window must be at least one bar.");
        if (!(threshold >= 0)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The dead band must not be negative.");
        Trainer = trainer;
        Lags = lags;
        TrainBars = trainBars;
        TestBars = testBars;
        Threshold = threshold;
        _ct = ct;
    }

    public IWindowModelTrainer Trainer { get; }
    public int Lags { get; }
    public int TrainBars { get; }
    public int TestBars { get; }
    public double Threshold { get; }
    public string Name => $"model({Trainer.Name}, lags={Lags}, train={TrainBars}, test={TestBars})";
    public IReadOnlyList<WalkForwardWindow> Windows => _windows;

    public void Initialize(IStrategyContext context)
    {
        var n = context.Symbols.Count;
        _history = Enumerable.Range(0, n).Select(_ => new List<Bar>()).ToArray();
        _returns = Enumerable.Range(0, n).Select(_ => new RingBuffer<double>(Lags)).ToArray();
        _features = new double[Lags];
        _timeline = context.Market.Timeline;
        var starts = new List<DateTimeOffset>();
        for (var i = TrainBars; i < _timeline.Length; i += TestBars) starts.Add(_timeline[i]);
        _starts = [.. starts];
        _next = 0;
        _model = null;
        _windows.Clear();
    }

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        // Retrain before this bar joins the history, so the new model has seen nothing at or after the window start.
        if (_next < _starts.Length && bar.Time >= _starts[_next]) Retrain(context);

        var history = _history[symbol];
        if (history.Count > 0)
        {
            var r = LaggedReturns.LogReturn(history[^1].Close, bar.Close);
            _returns[symbol].Add(double.IsFinite(r) ? r : 0, out _);
        }
        history.Add(bar);

        if (_model is null || !_returns[symbol].IsFull) return;
        var buffer = _returns[symbol];
        for (var k = 0; k < Lags; k++) _features[k] = buffer[Lags - 1 - k];
        var predicted = _model.Predict(_features);
        context.SetSignal(symbol, predicted > Threshold ? 1 : predicted < -Threshold ? -1 : 0);
    }

    private void Retrain(IStrategyContext context)
    {
        var index = _next;
        var testFrom = _starts[index];
        var startIndex = TrainBars + index * TestBars;
        var trainFrom = _timeline[startIndex - TrainBars];
        var testTo = _timeline[Math.Min(_timeline.Length - 1, startIndex + TestBars - 1)];
        var bars = new IReadOnlyList<Bar>[_history.Length];
        var count = 0;
        for (var s = 0; s < _history.Length; s++)
        {
            var window = _history[s].Where(b => b.Time >= trainFrom && b.Time < testFrom).ToArray();
            bars[s] = window;
            count += window.Length;
        }
        var training = new TrainingWindow(index, trainFrom, testFrom, testTo, context.Symbols, bars, Lags);
        _model = Trainer.Train(training, _ct);
        _windows.Add(new WalkForwardWindow(index, trainFrom, testFrom, testTo, count));
        _next++;
    }
}
