namespace Platform.Training.Tests;

/// <summary>
/// Training requests a strict API refuses before a run exists: candidate parameters that are null, blank or not finite,
/// and members the request does not have (including ones whose value is not even UTF-8). Each gets 400 problem details.
/// </summary>
public sealed class StrictTrainingRequestTests() : TrainingHostTest("training-strict-")
{
    private const string Valid =
        """{"symbols":["ALPHA"],"target":"return","horizon":5,"dataSource":"synthetic","candidates":[{"kind":"ridge","parameters":PARAMS}]}""";

    [Theory]
    [InlineData("""{"alpha":null}""", "candidates")]
    [InlineData("""{"alpha":"-1e999"}""", "candidates")]
    [InlineData("""{"alpha":"NaN"}""", "candidates")]
    [InlineData("""{"alpha":" "}""", "candidates")]
    [InlineData("""{"":"1"}""", "candidates")]
    public async Task Post_CandidateParameterNullBlankOrNotFinite_Returns400NamingIt(string parameters, string key)
    {
        using var response = await PostAsync(Valid.Replace("PARAMS", parameters, StringComparison.Ordinal));

        var problem = await AssertProblemAsync(response);
        Assert.True(problem.GetProperty("errors").TryGetProperty(key, out _), problem.ToString());
    }

    [Fact]
    public async Task Post_UnknownMember_Returns400()
    {
        using var response = await PostAsync(Valid.Replace("PARAMS", "{}", StringComparison.Ordinal)[..^1] + ""","horizn":5}""");

        await AssertProblemAsync(response);
    }

    [Fact]
    public async Task Post_UnknownMember_DetailNamesTheMemberAndNotTheDotNetType()
    {
        var detail = await ProblemDetailOfAsync(Valid.Replace("PARAMS", "{}", StringComparison.Ordinal)[..^1] + ""","horizn":5}""");

        Assert.Contains("'horizn'", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Platform.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("TrainingRequest", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_WrongValueType_DetailGivesThePathAndNotTheDotNetType()
    {
        var detail = await ProblemDetailOfAsync(
            Valid.Replace("PARAMS", "{}", StringComparison.Ordinal).Replace("\"horizon\":5", "\"horizon\":\"five\"", StringComparison.Ordinal));

        Assert.Contains("wrong type at $.horizon", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("TrainingRequest", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_MalformedJson_DetailSaysWhereTheJsonBreaks()
    {
        var detail = await ProblemDetailOfAsync("""{"symbols":["ALPHA"],""" + "\n" + """ "target": return}""");

        Assert.StartsWith("The body is not valid JSON", detail, StringComparison.Ordinal);
        Assert.Contains("line 2", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("TrainingRequest", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_UnknownMemberWithInvalidUtf8_Returns400()
    {
        var body = Encoding.UTF8.GetBytes(Valid.Replace("PARAMS", "{}", StringComparison.Ordinal)[..^1] + ",\"x\":\"")
            .Concat(new byte[] { 0xC0, 0xAF }).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await Host.Http.PostAsync("/v1/training-runs", content);

        await AssertProblemAsync(response);
    }

    [Fact]
    public async Task Post_FiniteParameters_StillAccepted()
    {
        using var response = await PostAsync(Valid.Replace("PARAMS", """{"alpha":"1000"}""", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private Task<HttpResponseMessage> PostAsync(string json) =>
        Host.Http.PostAsync("/v1/training-runs", new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Posts <paramref name="json"/>, asserts a 400 problem and returns its detail.</summary>
    private async Task<string> ProblemDetailOfAsync(string json)
    {
        using var response = await PostAsync(json);
        return (await AssertProblemAsync(response)).GetProperty("detail").GetString()!;
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
