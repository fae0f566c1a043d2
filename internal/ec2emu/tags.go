package ec2emu

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// EC2's limits on tags.
const (
	maxTagsPerResource = 50
	maxTagKeyLength    = 128
	maxTagValueLength  = 256
)

func (s *Server) createTags(p params, now time.Time) (any, *apiError) {
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParameter("ResourceId")
	}
	tags := p.tags("Tag")
	if len(tags) == 0 {
		return nil, missingParameter("Tag")
	}
	// Every resource is checked before any is changed, so a bad id changes nothing.
	targets := make([]*map[string]string, 0, len(ids))
	for _, id := range ids {
		switch {
		case strings.HasPrefix(id, "i-"):
			instances, apiErr := s.lookupInstances([]string{id}, now)
			if apiErr != nil {
				return nil, apiErr
			}
			targets = append(targets, &instances[0].Tags)
		case strings.HasPrefix(id, "key-"):
			k := s.keyPairByID(id)
			if k == nil {
				return nil, badRequest("InvalidKeyPair.NotFound",
					"The key pair ID '%s' does not exist", id)
			}
			targets = append(targets, &k.Tags)
		default:
			return nil, badRequest("InvalidID", "The ID '%s' is not valid", id)
		}
	}
	for _, target := range targets {
		if apiErr := validateTags(tags, *target); apiErr != nil {
			return nil, apiErr
		}
	}
	for _, target := range targets {
		if *target == nil {
			*target = map[string]string{}
		}
		for _, t := range tags {
			(*target)[t.Key] = t.Value
		}
	}
	return &createTagsResponse{Return: true}, nil
}

// validateTags checks tags that are to be added to a resource that has existing ones.
func validateTags(tags []tag, existing map[string]string) *apiError {
	merged := maps.Clone(existing)
	if merged == nil {
		merged = map[string]string{}
	}
	for _, t := range tags {
		switch {
		case t.Key == "":
			return invalidParameter("Tag key must not be empty")
		case len(t.Key) > maxTagKeyLength:
			return invalidParameter("Tag key exceeds the maximum length of %d characters",
				maxTagKeyLength)
		case len(t.Value) > maxTagValueLength:
			return invalidParameter("Tag value exceeds the maximum length of %d characters",
				maxTagValueLength)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return invalidParameter("Tag keys starting with 'aws:' are reserved for " +
				"internal use")
		}
		merged[t.Key] = t.Value
	}
	if len(merged) > maxTagsPerResource {
		return badRequest("TagLimitExceeded",
			"The maximum number of Tags for a resource has been reached (%d)",
			maxTagsPerResource)
	}
	return nil
}

func tagMap(tags []tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func tagItems(m map[string]string) []tagItem {
	var out []tagItem
	for _, key := range sortedKeys(m) {
		out = append(out, tagItem{Key: key, Value: m[key]})
	}
	return out
}

// matchTagFilter applies the tag filters common to every Describe action: tag:KEY, tag-key and
// tag-value. ok is false when name is not a tag filter.
func matchTagFilter(f filter, tags map[string]string) (matched, ok bool) {
	anyValue := func(s string) bool {
		return slices.ContainsFunc(f.Values, func(v string) bool { return matchGlob(v, s) })
	}
	switch {
	case strings.HasPrefix(f.Name, "tag:"):
		value, present := tags[strings.TrimPrefix(f.Name, "tag:")]
		return present && anyValue(value), true
	case f.Name == "tag-key":
		return slices.ContainsFunc(sortedKeys(tags), anyValue), true
	case f.Name == "tag-value":
		for _, v := range tags {
			if anyValue(v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}
