package wechat

import (
	"slices"

	"github.com/ordergraph/ordergraph/internal/wechat/flex"
)

// Section is the shape of the most common WeChat answer: the status and one
// object under one member ({"errcode":0,"order":{…}}). It names the member
// and how to read the object, once per call type; Reply gives the reply to
// read each answer into.
type Section[T any] struct {
	member string
	fields *flex.Fields
	read   func(*flex.Decoder, *T) error
}

// NewSection describes answers that carry the object read by read under
// member.
func NewSection[T any](member string, read func(*flex.Decoder, *T) error) *Section[T] {
	return &Section[T]{member: member, fields: flex.NewFields(slices.Concat(StatusFields, []string{member})...), read: read}
}

// SectionReply is one answer of a Section. Value is nil when the answer had
// no object.
type SectionReply[T any] struct {
	Status
	Value   *T
	section *Section[T]
}

// Reply returns an empty reply to read one answer into.
func (s *Section[T]) Reply() SectionReply[T] { return SectionReply[T]{section: s} }

func (r *SectionReply[T]) ReadReply(d *flex.Decoder) error {
	s := r.section
	*r = s.Reply()
	_, err := d.Object(s.fields, func(name string) error {
		if name == s.member {
			return flex.Optional(d, &r.Value, s.read)
		}
		return r.ReadMember(d, name)
	})
	return err
}
