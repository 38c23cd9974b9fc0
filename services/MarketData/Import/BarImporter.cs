using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.MarketData.Import;

/// <summary>A row the importer did not take: its line (or position) and why.</summary>
public sealed record RejectedRow(int Line, string Reason);

/// <summary>
/// What an import did. <see cref="Committed"/> is false when nothing was written (an invalid row without
/// <c>SkipInvalid</c>, or a file that could not be read); <see cref="Rejected"/> lists every row left out.
/// </summary>
public sealed record ImportReport(
    string ImportId, string Source, string Symbol, string? Interval, string? Layout, IReadOnlyList<string> Notes,
    int Rows, long Inserted, long Updated, long Unchanged, int DuplicateRows, IReadOnlyList<RejectedRow> Rejected,
    bool Committed, DateTimeOffset? From, DateTimeOffset? To, bool EventQueued, string? Error = null, int? ErrorLine = null)
{
    /// <summary>Where the time went (parse, validate, write) and how the store wrote the bars; not part of the API's answer.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ImportTimings? Timings { get; init; }

    /// <summary>One <c>source:line: reason</c> message per rejected row (and the format error, if any).</summary>
    public IEnumerable<string> Messages()
    {
        if (Error is not null) yield return ErrorLine is { } line ? $"{Source}:{line}: {Error}" : $"{Source}: {Error}";
        foreach (var r in Rejected) yield return $"{Source}:{r.Line}: {r.Reason}";
    }
}

/// <summary>How long an import spent reading the file into bars, checking them, and in the store's transaction.</summary>
public sealed record ImportTimings(TimeSpan Parse, TimeSpan Validate, TimeSpan Write)
{
    public SeriesWritePath WritePath { get; init; }

    /// <summary>The rows went to the store while the file was read (the write's time overlaps parsing).</summary>
    public bool Streamed { get; init; }
}

/// <summary>Progress of a file import: bytes read of the total (when known) and rows parsed.</summary>
public readonly record struct ImportProgress(long BytesRead, long? TotalBytes, int Rows);

/// <summary>
/// Imports bars from files, uploads and providers. An import is atomic: all valid rows or nothing (unless
/// <see cref="ImportOptions.SkipInvalid"/>), every rejected row reported, and the bars and one <see cref="BarsImported"/>
/// per changed series committed together through the store's outbox. Re-importing stored bars changes nothing and
/// publishes nothing.
/// </summary>
public sealed class BarImporter(IBarStore store, ILogger<BarImporter> logger)
{
    private static readonly Meter Meter = new("Platform.MarketData");
    private static readonly Counter<long> ImportedBars = Meter.CreateCounter<long>("marketdata.import.bars", "{bar}", "Bars inserted or updated by imports.");
    private static readonly Counter<long> Imports = Meter.CreateCounter<long>("marketdata.imports", "{import}",
        "Imports by outcome: imported (committed, possibly with rows skipped) or refused (nothing written).");
    private static readonly Counter<long> RejectedRows = Meter.CreateCounter<long>("marketdata.import.rejected_rows", "{row}",
        "Rows left out of imports (invalid, conflicting), whether the import was refused or skipped them.");

    private const int SampleLines = 50;

    /// <summary>Rows the batch is sized for up front at most (about 180 MB of bars); a longer file grows it.</summary>
    private const int MaxPresized = 2_000_000;

    public async Task<ImportReport> ImportFileAsync(string path, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken ct = default)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) return Failed(Guid.NewGuid().ToString("N"), path, options, $"file not found ({full})");
        await using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return await ImportAsync(stream, path, options, progress, ct);
    }

    public async Task<ImportReport> ImportAsync(Stream content, string source, ImportOptions options, IProgress<ImportProgress>? progress = null,
        CancellationToken ct = default)
    {
        var importId = Guid.NewGuid().ToString("N");
        var started = Stopwatch.GetTimestamp();
        long? total = content.CanSeek ? content.Length : null;
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16, leaveOpen: true);
        using var lines = new LineReader(reader);
        var (sample, estimate, layout, notes, unreadable) = await ReadHeadAsync(lines, total, options, ct);
        if (unreadable is not null)
            return Failed(importId, source, options, Describe(unreadable)) with { ErrorLine = unreadable.Line };
        if (!Symbols.IsValid(options.Symbol)) return Count(SymbolRefused(importId, source, options));

        // Rows are read, checked and (when the store can take them as they come) sent a buffer at a time, so the store
        // inserts one buffer while the next is parsed. Without a given interval the first rows are held until it is inferred.
        var run = new Validation(options, layout.HasTimeOfDay, notes, estimate);
        var parser = new BarFileParser(layout);
        var chunk = new List<(int Line, Bar Bar)>(4096);
        ISeriesAppend? append = null;
        var appendTried = false;
        long parseTicks = 0, validateTicks = 0, sendTicks = 0;
        try
        {
            foreach (var l in sample.Skip(layout.HasHeader ? 1 : 0))
                if (parser.TryParse(l.Text, out var bar, out var error)) chunk.Add((l.Number, bar));
                else run.Unreadable(l.Number, error!);
            var nextReport = 0x4000;
            var mark = Stopwatch.GetTimestamp();
            do
            {
                ParseBuffered(parser, lines, chunk, run);
                var parsed = Stopwatch.GetTimestamp();
                run.Take(chunk);
                chunk.Clear();
                var validated = Stopwatch.GetTimestamp();
                parseTicks += parsed - mark;
                validateTicks += validated - parsed;
                if (append is null && !appendTried && run.Batch is { Count: > 0 } batch && run.Acceptable)
                {
                    appendTried = true;
                    append = await store.BeginAppendAsync(batch, ct);
                }
                if (append is not null && !run.Acceptable)
                {
                    // A refused row without skip-invalid: nothing will be written, so the streamed write is dropped now.
                    await append.DisposeAsync();
                    append = null;
                }
                append?.Send();
                mark = Stopwatch.GetTimestamp();
                sendTicks += mark - validated;
                if (lines.LineNumber >= nextReport)
                {
                    nextReport = (lines.LineNumber | 0x3FFF) + 1;
                    progress?.Report(new ImportProgress(content.CanSeek ? content.Position : 0, total, run.Parsed));
                }
            }
            while (await lines.FillAsync(ct));
            parseTicks += Stopwatch.GetTimestamp() - mark;
            progress?.Report(new ImportProgress(total ?? 0, total, run.Parsed));

            var validateStarted = Stopwatch.GetTimestamp();
            var complete = run.Complete();
            var timings = new ImportTimings(Ticks(parseTicks), Ticks(validateTicks) + Stopwatch.GetElapsedTime(validateStarted), Ticks(sendTicks));
            if (!complete)
                return Count(Failed(importId, source, options, "the interval cannot be inferred from the timestamps: give it (for example --interval 1m).") with
                { Layout = layout.Describe(), Notes = notes, Rows = run.Rows, Rejected = run.Rejected });
            var report = await WriteAsync(importId, source, options, layout.Describe(), run, append, timings, started, ct);
            append = null;
            return Count(report);
        }
        finally
        {
            if (append is not null) await append.DisposeAsync();
        }
    }

    private static TimeSpan Ticks(long stopwatchTicks) => TimeSpan.FromSeconds(stopwatchTicks / (double)Stopwatch.Frequency);

    /// <summary>
    /// The first non-blank lines as strings, for the layout detector (every line after them is read in place), and a row
    /// count estimated from the file's length and the sample's line length, so the batch is not regrown on a large file.
    /// </summary>
    private static async Task<(List<NumberedLine> Sample, int Estimate)> SampleAsync(LineReader lines, long? total, CancellationToken ct)
    {
        var sample = new List<NumberedLine>();
        long sampleChars = 0;
        while (sample.Count < SampleLines)
        {
            if (lines.TryNextString(out var text))
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                sample.Add(new NumberedLine(lines.LineNumber, text));
                sampleChars += text.Length + 1;
                continue;
            }
            if (!await lines.FillAsync(ct)) break;
        }
        // A little over the estimate so a near miss does not double the batch; capped, as the sample may be unrepresentative.
        var estimate = total is { } bytes && sample.Count > 0
            ? (int)Math.Min(bytes / Math.Max(1, sampleChars / sample.Count) * 17 / 16 + 16, MaxPresized)
            : 1024;
        return (sample, estimate);
    }

    /// <summary>
    /// The head of a file: its sample and row estimate (<see cref="SampleAsync"/>) and the layout detected from the sample,
    /// or the reason no layout fits (then the layout is null).
    /// </summary>
    private static async Task<(List<NumberedLine> Sample, int Estimate, BarFileLayout Layout, List<string> Notes, ImportFormatException? Unreadable)>
        ReadHeadAsync(LineReader lines, long? total, ImportOptions options, CancellationToken ct)
    {
        var (sample, estimate) = await SampleAsync(lines, total, ct);
        try
        {
            var (layout, notes) = LayoutDetector.Detect(sample, options);
            return (sample, estimate, layout, notes, null);
        }
        catch (ImportFormatException ex)
        {
            return (sample, estimate, null!, [], ex);
        }
    }

    /// <summary>The message of a format error, without the line number the report gives separately.</summary>
    private static string Describe(ImportFormatException ex) => ex.Line is { } line ? Strip(ex.Message, line) : ex.Message;

    /// <summary>Parses every complete line in the reader's buffer, in place, into <paramref name="chunk"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ParseBuffered(BarFileParser parser, LineReader lines, List<(int Line, Bar Bar)> chunk, Validation run)
    {
        while (lines.TryNext(out var line))
        {
            if (line.IsWhiteSpace()) continue;
            if (parser.TryParse(line, out var bar, out var error)) chunk.Add((lines.LineNumber, bar));
            else run.Unreadable(lines.LineNumber, error!);
        }
    }

    /// <summary>
    /// Rows on their way into the store: the store's rules and the order, checked once, into the batch the store writes
    /// as it is. Identical duplicate rows are taken once, a duplicate with other values is refused; every refused row
    /// keeps its line. Until the interval is known (given, or inferred from the first 5,000 rows) rows wait.
    /// </summary>
    private sealed class Validation(ImportOptions options, bool intraday, List<string> notes, int capacity)
    {
        private const int InferenceRows = 5000;
        private readonly List<(int Line, Bar Bar)> _waiting = [];
        private List<int> _lines = [];
        private int _lastLine;
        private int _unreadable;

        public List<RejectedRow> Rejected { get; } = [];
        public List<string> Notes => notes;
        public SeriesBatch? Batch { get; private set; }
        public BarInterval? Interval { get; private set; }
        public int Parsed { get; private set; }
        public int Duplicates { get; private set; }

        /// <summary>Rows of the file that carry data: parsed ones and those that could not be read.</summary>
        public int Rows => Parsed + _unreadable;

        /// <summary>Whether the import can still be written: no refused row, or refused rows are skipped.</summary>
        public bool Acceptable => options.SkipInvalid || Rejected.Count == 0;

        /// <summary>The line of the batch's bar at <paramref name="index"/>.</summary>
        public int LineOf(int index) => _lines[index];

        public void Unreadable(int line, string reason)
        {
            _unreadable++;
            Rejected.Add(new RejectedRow(line, reason));
        }

        public void Take(List<(int Line, Bar Bar)> rows)
        {
            Parsed += rows.Count;
            if (Batch is null)
            {
                _waiting.AddRange(rows);
                // Without an interval the rows wait for the first 5,000 (or the end, Complete); when even they do not tell it,
                // they keep waiting and the import fails at the end.
                if (options.Interval is not null || _waiting.Count >= InferenceRows) Start();
                return;
            }
            foreach (ref readonly var row in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows)) Add(row.Line, row.Bar);
        }

        /// <summary>Takes the waiting rows once the interval is known; false when it cannot be inferred.</summary>
        private bool Start()
        {
            Interval = options.Interval ?? InferInterval(_waiting, intraday, notes);
            if (Interval is null) return false;
            Batch = SeriesBatch.Create(options.Symbol, Interval.Value, Math.Max(capacity, _waiting.Count));
            _lines = new List<int>(Math.Max(capacity, _waiting.Count));
            foreach (var (line, bar) in _waiting) Add(line, bar);
            _waiting.Clear();
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(int line, in Bar bar)
        {
            var batch = Batch!;
            if (batch.Count > 0 && bar.Time == batch.Last.Time && BarValidation.Check(bar, batch.Interval) is null)
            {
                if (bar == batch.Last) { Duplicates++; return; }
                Rejected.Add(new RejectedRow(line, $"conflicting duplicate of line {_lastLine} (time {BarValidation.Iso(bar.Time)}, different values)"));
                return;
            }
            if (batch.TryAdd(bar) is { } reason) { Rejected.Add(new RejectedRow(line, reason)); return; }
            _lines.Add(line);
            _lastLine = line;
        }

        /// <summary>The end of the rows: the waiting ones taken, the duplicates noted, the refused rows in line order; false without an interval.</summary>
        public bool Complete()
        {
            if (Batch is null && !Start()) return false;
            if (Duplicates > 0) notes.Add($"{Duplicates} identical duplicate row(s) taken once");
            Rejected.Sort((a, b) => a.Line.CompareTo(b.Line));
            return true;
        }
    }

    /// <summary>Imports bars that are already parsed (providers, the synthetic market): the same validation and outbox as a file.</summary>
    public async Task<ImportReport> ImportBarsAsync(string source, ImportOptions options, IReadOnlyList<Bar> bars, CancellationToken ct = default)
    {
        var importId = Guid.NewGuid().ToString("N");
        var started = Stopwatch.GetTimestamp();
        if (!Symbols.IsValid(options.Symbol)) return Count(SymbolRefused(importId, source, options));
        var run = new Validation(options, bars.Any(b => b.Time.TimeOfDay != TimeSpan.Zero), [], bars.Count);
        run.Take(bars.Select((b, i) => (i + 1, b)).ToList());
        if (!run.Complete())
            return Count(Failed(importId, source, options, "the interval cannot be inferred from the timestamps: give it (for example --interval 1m).") with
            { Notes = run.Notes, Rows = run.Rows, Rejected = run.Rejected });
        var timings = new ImportTimings(TimeSpan.Zero, Stopwatch.GetElapsedTime(started), TimeSpan.Zero);
        return Count(await WriteAsync(importId, source, options, null, run, null, timings, started, ct));
    }

    private static ImportReport Count(ImportReport report)
    {
        Imports.Add(1, new KeyValuePair<string, object?>("outcome", report.Committed ? "imported" : "refused"));
        if (report.Rejected.Count > 0) RejectedRows.Add(report.Rejected.Count);
        return report;
    }

    private static ImportReport SymbolRefused(string importId, string source, ImportOptions options) =>
        Failed(importId, source, options with { Symbol = BarValidation.Printable(options.Symbol) },
            $"symbol '{BarValidation.Printable(options.Symbol)}' is not {Symbols.Rule}");

    /// <summary>
    /// Refuses the import when a row was refused (without skip-invalid); otherwise commits the streamed write, or writes
    /// the batch (direct when its range is empty, merged otherwise) and reports conflicts with stored bars by line.
    /// </summary>
    private async Task<ImportReport> WriteAsync(string importId, string source, ImportOptions options, string? layout, Validation run,
        ISeriesAppend? append, ImportTimings timings, long started, CancellationToken ct)
    {
        var batch = run.Batch!;
        var interval = batch.Interval;
        var notes = run.Notes;
        var rejected = run.Rejected;
        var rows = run.Rows;
        var duplicates = run.Duplicates;
        await using var streamed = append;
        if (rejected.Count > 0 && !options.SkipInvalid)
            return new ImportReport(importId, source, options.Symbol, interval.Name, layout, notes, rows, 0, 0, 0, duplicates, rejected,
                false, null, null, false, $"{rejected.Count} invalid row(s); nothing was imported (use skip-invalid to import the valid rows)")
            { Timings = timings };

        var writeStarted = Stopwatch.GetTimestamp();
        var write = new SeriesWrite(batch)
        {
            OnConflict = options.Overwrite ? ConflictPolicy.Overwrite : ConflictPolicy.Reject,
            PerSeries = change => EventPublisherExtensions.ToOutgoing(
                new BarsImported(importId, change.Symbol, change.Interval.Name, change.From, change.To, change.Count)),
        };
        var result = streamed is not null ? await streamed.CommitAsync(write.PerSeries, ct) : await store.WriteSeriesAsync(write, ct);
        if (!result.Committed)
        {
            var conflictRows = result.Conflicts.Select(c => new RejectedRow(run.LineOf(batch.IndexOf(c.Incoming.Bar.Time)), Describe(c))).ToList();
            if (!options.SkipInvalid)
            {
                rejected.AddRange(conflictRows);
                rejected.Sort((a, b) => a.Line.CompareTo(b.Line));
                return new ImportReport(importId, source, options.Symbol, interval.Name, layout, notes, rows, 0, 0, 0, duplicates, rejected,
                    false, null, null, false, $"{conflictRows.Count} row(s) conflict with stored bars; nothing was imported (use overwrite to replace them)");
            }
            var conflicting = result.Conflicts.Select(c => c.Incoming.Bar.Time).ToHashSet();
            rejected.AddRange(conflictRows);
            rejected.Sort((a, b) => a.Line.CompareTo(b.Line));
            result = await store.WriteSeriesAsync(write with { Batch = batch.Without(conflicting) }, ct);
            if (!result.Committed)
                return Failed(importId, source, options, "stored bars changed while importing; try again") with { Rejected = rejected };
        }
        timings = timings with { Write = timings.Write + Stopwatch.GetElapsedTime(writeStarted), WritePath = result.Path, Streamed = streamed is not null };
        ImportedBars.Add(result.Inserted + result.Updated, new KeyValuePair<string, object?>("interval", interval.Name));
        logger.LogInformation("Imported {Source} as {Symbol} {Interval}: {Inserted} new, {Updated} updated, {Unchanged} unchanged, "
            + "{Rejected} rejected in {Elapsed} ms (parse {ParseMs} ms, validate {ValidateMs} ms, write {WriteMs} ms, {Path})",
            source, options.Symbol, interval.Name, result.Inserted, result.Updated, result.Unchanged, rejected.Count,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, (long)timings.Parse.TotalMilliseconds,
            (long)timings.Validate.TotalMilliseconds, (long)timings.Write.TotalMilliseconds, result.Path);
        return new ImportReport(importId, source, options.Symbol, interval.Name, layout, notes, rows,
            result.Inserted, result.Updated, result.Unchanged, duplicates, rejected, true,
            batch.Count > 0 ? batch.First : null, batch.Count > 0 ? batch.Last.Time : null, result.EventsQueued > 0)
        { Timings = timings };
    }

    /// <summary>A file read into bars: its layout and notes, the parsed rows and the unreadable ones, or why it could not be read.</summary>
    public sealed record ParsedFile(BarFileLayout? Layout, List<string> Notes, List<(int Line, Bar Bar)> Bars, List<RejectedRow> Rejected,
        string? Error = null, int? ErrorLine = null);

    /// <summary>Reads a delimited file with a detected (or given) layout, without validating or storing anything.</summary>
    public static async Task<ParsedFile> ParseAsync(Stream content, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken ct = default)
    {
        long? total = content.CanSeek ? content.Length : null;
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16, leaveOpen: true);
        using var lines = new LineReader(reader);
        var (sample, estimate, layout, notes, unreadable) = await ReadHeadAsync(lines, total, options, ct);
        if (unreadable is not null) return new ParsedFile(null, [], [], [], Describe(unreadable), unreadable.Line);

        var parser = new BarFileParser(layout);
        var file = new ParsedFile(layout, notes, new List<(int Line, Bar Bar)>(estimate), []);
        foreach (var l in sample.Skip(layout.HasHeader ? 1 : 0)) Take(parser, file, l.Number, l.Text);
        var nextReport = 0x4000;
        do
        {
            ParseBuffered(parser, lines, file);
            if (lines.LineNumber >= nextReport)
            {
                nextReport = (lines.LineNumber | 0x3FFF) + 1;
                progress?.Report(new ImportProgress(content.CanSeek ? content.Position : 0, total, file.Bars.Count));
            }
        }
        while (await lines.FillAsync(ct));
        progress?.Report(new ImportProgress(total ?? 0, total, file.Bars.Count));
        return file;
    }

    /// <summary>Parses every complete line in the reader's buffer, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ParseBuffered(BarFileParser parser, LineReader lines, ParsedFile file)
    {
        while (lines.TryNext(out var line))
        {
            if (line.IsWhiteSpace()) continue;
            Take(parser, file, lines.LineNumber, line);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Take(BarFileParser parser, ParsedFile file, int number, ReadOnlySpan<char> line)
    {
        if (parser.TryParse(line, out var bar, out var error)) file.Bars.Add((number, bar));
        else file.Rejected.Add(new RejectedRow(number, error!));
    }

    private static string Describe(BarConflict c)
    {
        var s = c.Stored.Bar;
        var n = c.Incoming.Bar;
        return $"conflicts with the stored bar at {BarValidation.Iso(n.Time)} (stored O/H/L/C/V {s.Open}/{s.High}/{s.Low}/{s.Close}/{s.Volume}, "
            + $"file {n.Open}/{n.High}/{n.Low}/{n.Close}/{n.Volume})";
    }

    /// <summary>Daily without a time of day; otherwise the smallest step between consecutive bars.</summary>
    private static BarInterval? InferInterval(List<(int Line, Bar Bar)> parsed, bool intraday, List<string> notes)
    {
        if (!intraday) return BarInterval.OneDay;
        var step = TimeSpan.MaxValue;
        for (var i = 1; i < Math.Min(parsed.Count, 5000); i++)
        {
            var d = parsed[i].Bar.Time - parsed[i - 1].Bar.Time;
            if (d > TimeSpan.Zero && d < step) step = d;
        }
        if (step == TimeSpan.MaxValue) return null;
        var name = step.TotalMinutes < 60 || step.TotalMinutes % 60 != 0 ? $"{step.TotalMinutes:0}m" : $"{step.TotalHours:0}h";
        if (step.TotalMinutes % 1 != 0 || !BarInterval.TryParse(name, out var interval)) return null;
        notes.Add($"interval {interval} inferred from the timestamps");
        return interval;
    }

    private static string Strip(string message, int line) => message.StartsWith($"line {line}: ", StringComparison.Ordinal) ? message[$"line {line}: ".Length..] : message;

    private static ImportReport Failed(string importId, string source, ImportOptions options, string error) =>
        new(importId, source, options.Symbol, options.Interval?.Name, null, [], 0, 0, 0, 0, 0, [], false, null, null, false, error);
}
