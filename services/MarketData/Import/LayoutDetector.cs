using System.Globalization;

namespace Platform.MarketData.Import;

/// <summary>The file cannot be read as bars at all (no usable layout); the message says where and why.</summary>
public sealed class ImportFormatException(string message, int? line = null) : Exception(message)
{
    public int? Line { get; } = line;
}

/// <summary>A line of a file with its 1-based number.</summary>
public readonly record struct NumberedLine(int Number, string Text);

/// <summary>
/// Works out a file's layout from its header and first rows: the delimiter, each column's role, the decimal
/// separator and the date and time formats. It copes with a header that omits the Time column (rows one field longer
/// than the header, with a time in the field after the date) and says exactly why when header and rows disagree.
/// </summary>
public static class LayoutDetector
{
    private static readonly char[] Delimiters = [',', ';', '\t', '|'];

    public static (BarFileLayout Layout, List<string> Notes) Detect(IReadOnlyList<NumberedLine> sample, ImportOptions options)
    {
        var notes = new List<string>();
        if (sample.Count == 0) throw new ImportFormatException("The file is empty.");
        var delimiter = options.Layout?.Delimiter ?? options.Delimiter ?? DetectDelimiter(sample);
        var first = BarFileParser.Split(sample[0].Text, delimiter);
        var rows = sample.Skip(1).Select(l => (l.Number, Fields: BarFileParser.Split(l.Text, delimiter))).ToList();

        BarFileLayout layout;
        if (options.Layout is { } given)
        {
            layout = given;
            if (!given.HasHeader) rows.Insert(0, (sample[0].Number, first));
        }
        else
        {
            if (BarFileLayout.LooksLikeDate(first[0]) || double.TryParse(first[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw new ImportFormatException(
                    $"line {sample[0].Number} is not a header (it starts with '{first[0]}'): give the columns explicitly (for example --columns date,open,high,low,close,volume).",
                    sample[0].Number);
            if (rows.Count == 0) throw new ImportFormatException("The file has a header but no rows.", sample[0].Number);
            var roles = new List<ColumnRole>();
            foreach (var name in first)
            {
                var role = BarFileLayout.RoleOf(name);
                if (role is null) notes.Add($"column '{name}' is not a bar field and is ignored");
                roles.Add(role ?? ColumnRole.Skip);
            }
            var width = rows[0].Fields.Count;
            if (width == roles.Count + 1 && roles.Contains(ColumnRole.Date) && !roles.Contains(ColumnRole.Time) && !roles.Contains(ColumnRole.DateTime))
            {
                var dateIndex = roles.IndexOf(ColumnRole.Date);
                var bad = rows.FirstOrDefault(r => r.Fields.Count != width || r.Fields.Count <= dateIndex + 1 || !BarFileLayout.LooksLikeTime(r.Fields[dateIndex + 1]));
                if (bad.Fields is not null)
                    throw new ImportFormatException(
                        $"header has {roles.Count} columns ({string.Join(delimiter, first)}) but line {rows[0].Number} has {width} fields; "
                        + $"an omitted Time column was considered, but line {bad.Number} has no time after the date ('{Field(bad.Fields, dateIndex + 1)}').",
                        bad.Number);
                roles.Insert(dateIndex + 1, ColumnRole.Time);
                notes.Add($"the header has {first.Count} columns but the rows have {width} fields, and field {dateIndex + 2} of every sampled row is a time "
                    + $"('{rows[0].Fields[dateIndex + 1]}'): read as {string.Join(delimiter, roles.Select(r => r.ToString()))} (the header omits Time)");
            }
            else if (width != roles.Count)
            {
                throw new ImportFormatException(
                    $"header has {roles.Count} columns ({string.Join(delimiter, first)}) but line {rows[0].Number} has {width} fields ({string.Join(delimiter, rows[0].Fields)}); "
                    + "the columns cannot be matched: give them explicitly with --columns.", rows[0].Number);
            }
            layout = new BarFileLayout { Columns = roles, Delimiter = delimiter };
        }

        foreach (var required in new[] { ColumnRole.Open, ColumnRole.High, ColumnRole.Low, ColumnRole.Close })
            if (layout.IndexOf(required) < 0)
                throw new ImportFormatException($"no {required} column (columns: {layout.Describe()}).", sample[0].Number);
        if (layout.IndexOf(ColumnRole.Date) < 0 && layout.IndexOf(ColumnRole.DateTime) < 0)
            throw new ImportFormatException($"no Date or DateTime column (columns: {layout.Describe()}).", sample[0].Number);
        if (layout.IndexOf(ColumnRole.Volume) < 0) notes.Add("no Volume column: volume is 0");

        var data = rows.Where(r => r.Fields.Count == layout.Columns.Count).ToList();
        var decimalSeparator = options.Layout?.DecimalSeparator ?? options.DecimalSeparator
            ?? (delimiter != ',' && data.Any(r => r.Fields[layout.IndexOf(ColumnRole.Close)].Contains(',')) ? ',' : '.');
        if (decimalSeparator != '.') notes.Add($"decimal separator '{decimalSeparator}'");

        string? dateFormat = options.Layout?.DateFormat ?? options.DateFormat, timeFormat = options.Layout?.TimeFormat ?? options.TimeFormat;
        if (layout.IndexOf(ColumnRole.Date) is var di and >= 0 && dateFormat is null)
            dateFormat = Pick(BarFileLayout.DateFormats, data.Select(r => (r.Number, r.Fields[di])), "date",
                (s, f) => DateOnly.TryParseExact(s, f, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        if (layout.IndexOf(ColumnRole.Time) is var ti and >= 0 && timeFormat is null)
            timeFormat = Pick(BarFileLayout.TimeFormats, data.Select(r => (r.Number, r.Fields[ti])), "time",
                (s, f) => TimeOnly.TryParseExact(s, f, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        if (layout.IndexOf(ColumnRole.DateTime) is var dti and >= 0 && dateFormat is null)
            dateFormat = Pick(BarFileLayout.DateTimeFormats, data.Select(r => (r.Number, r.Fields[dti])), "date-time",
                (s, f) => DateTimeOffset.TryParseExact(s, f, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _));

        var tz = options.Layout?.TimeZone ?? options.TimeZone ?? TimeZoneInfo.Utc;
        layout = layout with { DecimalSeparator = decimalSeparator, DateFormat = dateFormat, TimeFormat = timeFormat, TimeZone = tz };
        return (layout, notes);
    }

    private static string Field(IReadOnlyList<string> fields, int i) => i < fields.Count ? fields[i] : "";

    private static string Pick(string[] formats, IEnumerable<(int Line, string Value)> values, string what, Func<string, string, bool> parses)
    {
        var list = values.Select(v => (v.Line, Value: v.Value.Trim())).ToList();
        foreach (var f in formats)
            if (list.All(v => parses(v.Value, f))) return f;
        var (line, value) = list.FirstOrDefault(v => !formats.Any(f => parses(v.Value, f)));
        throw new ImportFormatException(value is null
            ? $"the {what} values match no single known format ({string.Join(", ", formats)}): give it explicitly."
            : $"line {line}: {what} '{value}' matches none of the known formats ({string.Join(", ", formats)}): give the format explicitly.", line == 0 ? null : line);
    }

    private static char DetectDelimiter(IReadOnlyList<NumberedLine> sample)
    {
        foreach (var d in Delimiters)
        {
            var counts = sample.Take(10).Select(l => BarFileParser.Split(l.Text, d).Count).ToList();
            if (counts.Skip(1).Any() && counts.Skip(1).All(c => c >= 5 && c == counts[1]) && counts[0] >= 5) return d;
        }
        foreach (var d in Delimiters)
            if (BarFileParser.Split(sample[0].Text, d).Count >= 5) return d;
        throw new ImportFormatException($"line {sample[0].Number}: no delimiter (',', ';', tab, '|') splits it into at least 5 columns.", sample[0].Number);
    }
}
