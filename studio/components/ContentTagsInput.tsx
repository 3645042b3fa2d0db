import type { ArrayOfPrimitivesInputProps } from 'sanity'
import { contentTagsBudget } from '../../src/core/authoring.ts'

/** The default tags input, with the encoded size of `contentTags` counted as the editor types. */
export function ContentTagsInput(props: ArrayOfPrimitivesInputProps) {
  return (
    <div>
      {props.renderDefault(props)}
      <TagsBudget tags={props.value} />
    </div>
  )
}

export function TagsBudget({ tags }: { tags: unknown }) {
  const { used, max } = contentTagsBudget(tags)
  const over = used > max
  return (
    <p role="status" style={{ margin: '0.5rem 0 0', fontSize: '0.8125rem', color: over ? '#e5484d' : 'inherit' }}>
      {`Auth0 contentTags: ${used} / ${max} characters`}
      {over ? ' (too long: remove or shorten tags)' : ''}
    </p>
  )
}
