using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Contracts;

namespace Platform.TestSupport;

/// <summary>
/// Requests to the run APIs (training runs, backtests) as the gateway forwards them: a JSON body and the caller in
/// <see cref="Caller.Header"/>.
/// </summary>
public static class RunApiRequests
{
    public static Task<HttpResponseMessage> SendJsonAsync(
        this HttpClient http, HttpMethod method, string path, string? json = null, string? principal = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (principal is not null) request.Headers.Add(Caller.Header, principal);
        return http.SendAsync(request);
    }

    /// <summary>The RFC 7807 body of <paramref name="response"/>; throws when the response is not problem details.</summary>
    public static async Task<JsonElement> ReadProblemAsync(this HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            throw new InvalidOperationException(
                $"{(int)response.StatusCode} without problem details ({response.Content.Headers.ContentType}): {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The limit a 429 names in its problem details (<c>limit</c>: the configuration key, <c>value</c>: its value).</summary>
    public static async Task<(string? Limit, int Value)> ReadLimitAsync(this HttpResponseMessage response)
    {
        var problem = await response.ReadProblemAsync();
        return (problem.GetProperty("limit").GetString(), problem.GetProperty("value").GetInt32());
    }

    /// <summary>
    /// From the service's OpenAPI document: the operation id of DELETE on <c>{collection}/{id}</c>, whether POST on the
    /// collection documents 429, and whether POST, GET and DELETE all document 503 (the workflow engine not answering).
    /// </summary>
    public static async Task<(string? CancelOperationId, bool PostDocumentsTooManyRequests, bool AllDocumentServiceUnavailable)> DescribeRunApiAsync(
        this HttpClient http, string collection)
    {
        var paths = (await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json")).GetProperty("paths");
        var run = paths.GetProperty(collection + "/{id}");
        var cancel = run.GetProperty("delete").GetProperty("operationId").GetString();
        var post = paths.GetProperty(collection).GetProperty("post");
        var all503 = new[] { post, run.GetProperty("get"), run.GetProperty("delete") }
            .All(operation => operation.GetProperty("responses").TryGetProperty("503", out _));
        return (cancel, post.GetProperty("responses").TryGetProperty("429", out _), all503);
    }
}
