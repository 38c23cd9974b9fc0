using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.MarketData.Import;
using Platform.MarketData.Outbox;
using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.MarketData.Replay;

/// <summary>
/// What to replay: a file (<see cref="Path"/> with <see cref="Symbol"/>) or a stored range (<see cref="Symbols"/>,
/// <see cref="From"/> inclusive, <see cref="To"/> exclusive), and how fast: <c>max</c> (as fast as possible),
/// <c>realtime</c> (1x) or a multiple such as <c>60x</c>.
/// </summary>
public sealed record ReplayRequest(
    string? Path = null, string? Symbol = null, IReadOnlyList<string>? Symbols = null, string? Interval = null,
    DateTimeOffset? From = null, DateTimeOffset? To = null, string? Speed = null, string? Id = null);

public static class ReplayStatus
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>A replay's checkpoint (kept in the private statestore): where it is, so it resumes after a restart.</summary>
public sealed record ReplayState(
    string Id, string? Path, IReadOnlyList<string> Symbols, string Interval, DateTimeOffset? From, DateTimeOffset? To,
    double Speed, string Status, long Total, long Published, DateTimeOffset? Position, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt,
    string? Error = null)
{
    public double Progress => Total == 0 ? (Status == ReplayStatus.Completed ? 1 : 0) : Math.Round((double)Published / Total, 4);
}

/// <summary>The request cannot be replayed; the message says why.</summary>
public sealed class ReplayRequestException(string message) : Exception(message);

/// <summary>
/// Feeds bars through the platform as if live: published as <see cref="BarClosed"/> (partition key = symbol,
/// <c>ReplayId</c> set) in time order across symbols, at the chosen speed. A file's bars are stored with their events
/// through the store's outbox (they may be new); a stored range's bars are already stored, so their events are published
/// straight to the bus, in order, in batches of up to <see cref="StoredBatchBars"/> at full speed. A checkpoint after every
/// step (written after the step's events are stored or published) lets a replay resume where it stopped; a step
/// interrupted before its checkpoint goes out again with the same event ids (at least once).
/// </summary>
public sealed class ReplayService(
    IBarStore store, IEventPublisher publisher, IStateStoreProvider states, TimeProvider clock, MarketDataOptions options, ILogger<ReplayService> logger)
{
    private const string IndexKey = "replays/index";
    private const int FastBatchBars = 2000;

    /// <summary>Bars per publish (and checkpoint) of a stored range replayed at full speed: one commit of the log each.</summary>
    public const int StoredBatchBars = 8192;
    private readonly ConcurrentDictionary<string, (Task Task, CancellationTokenSource Cts)> _running = new(StringComparer.Ordinal);
    private IStateStore State => states.PrivateStore();

    public static string Key(string id) => "replay/" + id;

    public const string IdRule = "A replay id is 1 to 64 letters, digits, '-' or '_'.";

    /// <summary>Ids become state keys: no separators, dots or control characters.</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Parses <c>max</c>, <c>realtime</c>, <c>1x</c>, <c>60x</c> or a plain number; 0 means as fast as possible.</summary>
    public static double ParseSpeed(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text is "max" or "fast" or "asap") return 0;
        if (text is "realtime" or "real-time") return 1;
        var t = text.EndsWith('x') ? text[..^1] : text;
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && double.IsFinite(s)) return s;
        throw new ReplayRequestException($"Unknown speed '{text}'. Use max, realtime, or a multiple such as 10x.");
    }

    /// <summary>Checks the request, writes the first checkpoint and starts the replay in the background.</summary>
    public async Task<ReplayState> StartAsync(ReplayRequest request, CancellationToken ct = default)
    {
        if (request.Id is not null && !IsValidId(request.Id)) throw new ReplayRequestException(IdRule);
        var speed = ParseSpeed(request.Speed);
        if (request.From is { } f && request.To is { } t && f >= t) throw new ReplayRequestException("'from' must be before 'to'.");
        if (!BarInterval.TryParse(request.Interval ?? "1d", out var interval)) throw new ReplayRequestException($"Unknown interval '{request.Interval}'.");
        IReadOnlyList<string> symbols;
        if (request.Path is not null)
        {
            if (string.IsNullOrWhiteSpace(request.Symbol)) throw new ReplayRequestException("A file replay needs a symbol.");
            if (!File.Exists(request.Path)) throw new ReplayRequestException($"File not found: {request.Path}");
            symbols = [request.Symbol];
        }
        else
        {
            symbols = request.Symbols is { Count: > 0 } s ? s : request.Symbol is { Length: > 0 } one ? [one] : [];
            var coverage = await store.GetCoverageAsync(ct: ct);
            if (symbols.Count == 0) symbols = coverage.Where(c => c.Interval == interval).Select(c => c.Symbol).ToList();
            var missing = symbols.Where(sym => !coverage.Any(c => c.Symbol == sym && c.Interval == interval)).ToList();
            if (symbols.Count == 0) throw new ReplayRequestException($"No stored {interval} bars to replay.");
            if (missing.Count > 0) throw new ReplayRequestException($"No stored {interval} bars for {string.Join(", ", missing.Take(10))}.");
            // A replay holds its bars in memory: bound it before it starts, from the series' coverage (pro rata for a range).
            var chosen = symbols.ToHashSet(StringComparer.Ordinal);
            var estimate = coverage.Where(c => c.Interval == interval && chosen.Contains(c.Symbol)).Sum(c => Within(c, request.From, request.To));
            if (estimate > options.Replay.MaxBars)
                throw new ReplayRequestException($"The replay would cover about {estimate:F0} bars, over the limit of {options.Replay.MaxBars} "
                    + "(MarketData:Replay:MaxBars): choose fewer symbols or a shorter range.");
        }
        var id = request.Id ?? Guid.NewGuid().ToString("N")[..12];
        if (await State.GetAsync<ReplayState>(Key(id), ct) is { } existing)
        {
            if (existing.Status == ReplayStatus.Running) Resume(existing);
            return existing;
        }
        var now = clock.GetUtcNow();
        var state = new ReplayState(id, request.Path is null ? null : System.IO.Path.GetFullPath(request.Path), symbols, interval.Name,
            request.From, request.To, speed, ReplayStatus.Running, 0, 0, null, now, now);
        await State.SaveAsync(Key(id), state, ct: ct);
        await State.UpdateAsync<List<string>>(IndexKey, list => [.. (list ?? []).Where(x => x != id), id], ct: ct);
        Resume(state);
        return state;
    }

    private static double Within(SeriesCoverage c, DateTimeOffset? from, DateTimeOffset? to)
    {
        var start = from is { } f && f > c.First ? f : c.First;
        var end = to is { } t && t < c.Last ? t : c.Last;
        if (end < start) return 0;
        var span = (c.Last - c.First).Ticks;
        return span == 0 ? c.Count : c.Count * Math.Min(1.0, (double)(end - start).Ticks / span);
    }

    public Task<ReplayState?> GetAsync(string id, CancellationToken ct = default) => State.GetAsync<ReplayState>(Key(id), ct);

    /// <summary>Waits for a replay of this process to stop (tests, the CLI).</summary>
    public Task WaitAsync(string id) => _running.TryGetValue(id, out var r) ? r.Task : Task.CompletedTask;

    public async Task<bool> CancelAsync(string id, CancellationToken ct = default)
    {
        var state = await GetAsync(id, ct);
        if (state is null) return false;
        if (_running.TryRemove(id, out var r))
        {
            await r.Cts.CancelAsync();
            try { await r.Task; } catch (OperationCanceledException) { }
        }
        if (state.Status == ReplayStatus.Running)
            await State.UpdateAsync<ReplayState>(Key(id), s => s! with { Status = ReplayStatus.Cancelled, UpdatedAt = clock.GetUtcNow() }, ct: ct);
        return true;
    }

    /// <summary>Resumes every replay whose checkpoint says running (after a restart).</summary>
    public async Task ResumeAllAsync(CancellationToken ct)
    {
        foreach (var id in await State.GetAsync<List<string>>(IndexKey, ct) ?? [])
            if (await GetAsync(id, ct) is { Status: ReplayStatus.Running } state)
            {
                logger.LogInformation("Resuming replay {Id} after {Published} of {Total} bars", id, state.Published, state.Total);
                Resume(state);
            }
    }

    /// <summary>Stops this process's replays, leaving their checkpoints as running so they resume on the next start.</summary>
    public async Task StopAllAsync()
    {
        foreach (var (_, r) in _running) await r.Cts.CancelAsync();
        foreach (var (_, r) in _running)
            try { await r.Task; } catch (OperationCanceledException) { }
        _running.Clear();
    }

    private void Resume(ReplayState state)
    {
        var cts = new CancellationTokenSource();
        var task = Task.Run(() => RunAsync(state, cts.Token));
        if (!_running.TryAdd(state.Id, (task, cts))) cts.Cancel();
    }

    private async Task RunAsync(ReplayState state, CancellationToken ct)
    {
        try
        {
            var bars = await LoadAsync(state, ct);
            if (state.Total != bars.Count) state = state with { Total = bars.Count };
            var remaining = state.Position is { } pos ? bars.Where(b => b.Bar.Time > pos).ToList() : bars;
            var batch = new List<SymbolBar>();
            DateTimeOffset? previous = state.Position;
            var i = 0;
            while (i < remaining.Count)
            {
                // One time step: every symbol's bar at this time.
                var time = remaining[i].Bar.Time;
                if (state.Speed > 0 && previous is { } p && batch.Count == 0)
                    await Task.Delay(TimeSpan.FromTicks((long)((time - p).Ticks / state.Speed)), clock, ct);
                while (i < remaining.Count && remaining[i].Bar.Time == time) batch.Add(remaining[i++]);
                previous = time;
                if (state.Speed > 0 || batch.Count >= (state.Path is null ? StoredBatchBars : FastBatchBars) || i == remaining.Count)
                {
                    if (state.Path is null) await PublishAsync(state.Id, batch, ct);
                    else await WriteAsync(state.Id, batch, ct);
                    state = state with { Published = state.Published + batch.Count, Position = time, UpdatedAt = clock.GetUtcNow() };
                    await State.SaveAsync(Key(state.Id), state, ct: ct);
                    batch.Clear();
                }
            }
            state = state with { Status = ReplayStatus.Completed, UpdatedAt = clock.GetUtcNow() };
            await State.SaveAsync(Key(state.Id), state, ct: CancellationToken.None);
            logger.LogInformation("Replay {Id} completed: {Published} bars", state.Id, state.Published);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Replay {Id} failed", state.Id);
            await State.SaveAsync(Key(state.Id), state with { Status = ReplayStatus.Failed, Error = ex.Message, UpdatedAt = clock.GetUtcNow() }, ct: CancellationToken.None);
        }
        finally
        {
            _running.TryRemove(state.Id, out _);
        }
    }

    private static OutgoingEvent Event(string replayId, SymbolBar b) =>
        EventPublisherExtensions.ToOutgoing(new BarClosed(b.Symbol, b.Interval.Name, b.Bar.Time,
            b.Bar.Open, b.Bar.High, b.Bar.Low, b.Bar.Close, b.Bar.Volume, b.Bar.Vwap, replayId));

    /// <summary>A stored range's step: its bars are in the store already, so only the events go out, in order.</summary>
    private Task PublishAsync(string replayId, List<SymbolBar> batch, CancellationToken ct)
    {
        var events = new OutgoingEvent[batch.Count];
        for (var i = 0; i < events.Length; i++) events[i] = Event(replayId, batch[i]);
        return OrderedPublish.PublishAsync(publisher, events, ct);
    }

    /// <summary>A file's step: its bars are stored (identical ones unchanged, different ones refused) with their events.</summary>
    private async Task WriteAsync(string replayId, List<SymbolBar> batch, CancellationToken ct)
    {
        var result = await store.WriteAsync(new BarWrite(batch.ToList())
        {
            OnConflict = ConflictPolicy.Reject,
            PerBar = b => Event(replayId, b),
            PerBarScope = EventScope.All,
        }, ct);
        if (!result.Committed)
        {
            var c = result.Conflicts[0];
            throw new InvalidOperationException(
                $"{result.Conflicts.Count} replayed bar(s) conflict with stored bars, first {c.Incoming.Symbol} at {BarValidation.Iso(c.Incoming.Bar.Time)}.");
        }
    }

    private async Task<List<SymbolBar>> LoadAsync(ReplayState state, CancellationToken ct)
    {
        var interval = BarInterval.Parse(state.Interval);
        var all = new List<SymbolBar>();
        if (state.Path is { } path)
        {
            await using var stream = File.OpenRead(path);
            var file = await BarImporter.ParseAsync(stream, new ImportOptions(state.Symbols[0]) { Interval = interval }, null, ct);
            if (file.Error is not null) throw new InvalidOperationException($"{path}:{file.ErrorLine}: {file.Error}");
            if (file.Rejected.Count > 0) throw new InvalidOperationException($"{path}:{file.Rejected[0].Line}: {file.Rejected[0].Reason}");
            all.AddRange(file.Bars
                .Where(b => (state.From is null || b.Bar.Time >= state.From) && (state.To is null || b.Bar.Time < state.To))
                .Select(b => new SymbolBar(state.Symbols[0], interval, b.Bar)));
            var problems = BarValidation.CheckBatch(all);
            if (problems.Count > 0) throw new InvalidOperationException($"{path}: {problems[0]}");
        }
        else
        {
            foreach (var symbol in state.Symbols)
                await foreach (var bar in store.StreamBarsAsync(new BarQuery(symbol, interval, state.From, state.To), ct))
                    all.Add(new SymbolBar(symbol, interval, bar));
        }
        var order = state.Symbols.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);
        return all.OrderBy(b => b.Bar.Time).ThenBy(b => order[b.Symbol]).ToList();
    }
}

/// <summary>Resumes unfinished replays when marketdata starts and pauses them (checkpoint kept) when it stops.</summary>
public sealed class ReplayResumer(ReplayService replays) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => replays.ResumeAllAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => replays.StopAllAsync();
}
